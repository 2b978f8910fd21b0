#include "line_format.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstdio>

namespace cellos::telemetry::stdout_sink {

using cellos::telemetry::append_console_text;
using cellos::telemetry::append_json_string;

namespace {

std::string_view view(const ct_text& t) {
  return t.len == 0 || t.ptr == nullptr ? std::string_view() : std::string_view(t.ptr, t.len);
}

bool known(const ct_value& v) {
  return v.type >= CT_VALUE_UINT && v.type <= CT_VALUE_TEXT_LIST;
}

// One typed value as JSON: a number, true/false, a string, or an array of strings. Text is
// valid UTF-8 (the core repairs it) and escaped by the shared JSON escaper (controls, C1 and
// bidi included), so it can neither break the object nor drive a console. Both formats use it:
// in a text line the quotes also show where a value with spaces begins and ends.
void append_value(std::string& out, const ct_value& v) {
  switch (v.type) {
    case CT_VALUE_UINT:
      out += std::to_string(v.as.u);
      break;
    case CT_VALUE_NEGINT:
      out += std::to_string(v.as.i);
      break;
    case CT_VALUE_BOOL:
      out += v.as.b ? "true" : "false";
      break;
    case CT_VALUE_TEXT:
      append_json_string(out, view(v.as.text));
      break;
    case CT_VALUE_TEXT_LIST:
      out += '[';
      for (uint32_t i = 0; i < v.as.list.n; ++i) {
        if (i > 0) out += ',';
        append_json_string(out, view(v.as.list.items[i]));
      }
      out += ']';
      break;
  }
}

}  // namespace

void append_json_line(std::string& out, const ct_event& e) {
  out += "{\"probe_source\":";
  append_json_string(out, e.probe_source);
  out += ",\"guest_pid\":" + std::to_string(e.guest_pid) + ",\"guest_comm\":";
  append_json_string(out, e.guest_comm);
  out += ",\"guest_monotonic_ns\":" + std::to_string(e.guest_monotonic_ns);
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    if (!known(e.extras[i].value)) continue;  // a type newer than this sink: skipped
    out += ',';
    append_json_string(out, e.extras[i].key);
    out += ':';
    append_value(out, e.extras[i].value);
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
    if (!known(e.extras[i].value)) continue;
    out += "  ";
    append_console_text(out, e.extras[i].key);
    out += '=';
    append_value(out, e.extras[i].value);
  }
  out += '\n';
}

}  // namespace cellos::telemetry::stdout_sink
