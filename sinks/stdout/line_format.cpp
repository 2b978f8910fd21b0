#include "line_format.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstdio>

namespace cellos::telemetry::stdout_sink {

using cellos::telemetry::append_json_string;

void append_json_line(std::string& out, const ct_event& e) {
  out += "{\"probe_source\":";
  append_json_string(out, e.probe_source);
  out += ",\"guest_pid\":" + std::to_string(e.guest_pid) + ",\"guest_comm\":";
  append_json_string(out, e.guest_comm);
  out += ",\"guest_monotonic_ns\":" + std::to_string(e.guest_monotonic_ns);
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    out += ',';
    append_json_string(out, e.extras[i].key);
    out += ':' + std::to_string(e.extras[i].value);
  }
  out += "}\n";
}

void append_text_line(std::string& out, const ct_event& e) {
  char head[128];
  std::snprintf(head, sizeof head, "%6llu.%09llu %-20s pid %-7u comm ",
                static_cast<unsigned long long>(e.guest_monotonic_ns / 1000000000u),
                static_cast<unsigned long long>(e.guest_monotonic_ns % 1000000000u), e.probe_source,
                e.guest_pid);
  out += head;
  // Control characters would let a comm forge extra lines on the console.
  for (const char* c = e.guest_comm; *c; ++c) {
    out += static_cast<unsigned char>(*c) < 0x20 || *c == 0x7f ? '?' : *c;
  }
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    out += std::string("  ") + e.extras[i].key + "=" + std::to_string(e.extras[i].value);
  }
  out += '\n';
}

}  // namespace cellos::telemetry::stdout_sink
