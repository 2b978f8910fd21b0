#include "line_format.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstdio>

namespace cellos::telemetry::stdout_sink {

using cellos::telemetry::append_console_text;
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
  // Everything a workload or a plugin chose is escaped: a comm like "\u009b2K" would otherwise
  // drive the operator's console (here: erase the line).
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "%6llu.%09llu ",
                static_cast<unsigned long long>(e.guest_monotonic_ns / 1000000000u),
                static_cast<unsigned long long>(e.guest_monotonic_ns % 1000000000u));
  out += stamp;
  const size_t source_at = out.size();
  append_console_text(out, e.probe_source);
  if (out.size() - source_at < 20) out.append(20 - (out.size() - source_at), ' ');
  char pid[32];
  std::snprintf(pid, sizeof pid, " pid %-7u comm ", e.guest_pid);
  out += pid;
  append_console_text(out, e.guest_comm);
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    out += "  ";
    append_console_text(out, e.extras[i].key);
    out += "=" + std::to_string(e.extras[i].value);
  }
  out += '\n';
}

}  // namespace cellos::telemetry::stdout_sink
