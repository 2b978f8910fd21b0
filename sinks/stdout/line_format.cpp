#include "line_format.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstdio>
#include <cstring>
#include <string_view>

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

const ct_value* find_extra(const ct_event& e, std::string_view key, uint32_t type) {
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    if (e.extras[i].value.type == type && e.extras[i].key && key == e.extras[i].key) {
      return &e.extras[i].value;
    }
  }
  return nullptr;
}

// The process ledger's keys a text line shows in words (issue 12), each with the one type it is
// shown for; of any other type it stays key=value like any extra.
struct Ledger {
  const ct_value* ppid = nullptr;            // uint: "ppid 1", right after the name
  const ct_value* exit_code = nullptr;       // uint or negint: "exit 3"
  const ct_value* signal = nullptr;          // uint: "signal 9 (SIGKILL)"
  const ct_value* core_dumped = nullptr;     // bool: ", core dumped" when true
  const ct_value* argv = nullptr;            // text list: "argv: ls -l", last
  const ct_value* argv_truncated = nullptr;  // bool: " ... (truncated)" when true

  explicit Ledger(const ct_event& e)
      : ppid(find_extra(e, "ppid", CT_VALUE_UINT)),
        exit_code(find_extra(e, "exit_code", CT_VALUE_UINT)),
        signal(find_extra(e, "signal", CT_VALUE_UINT)),
        core_dumped(find_extra(e, "core_dumped", CT_VALUE_BOOL)),
        argv(find_extra(e, "argv", CT_VALUE_TEXT_LIST)),
        argv_truncated(find_extra(e, "argv_truncated", CT_VALUE_BOOL)) {
    if (!exit_code) exit_code = find_extra(e, "exit_code", CT_VALUE_NEGINT);
    // Without the status they qualify, the qualifiers are ordinary extras.
    if (!signal) core_dumped = nullptr;
    if (!argv) argv_truncated = nullptr;
  }
  bool shown(const ct_value* v) const {
    return v == ppid || v == exit_code || v == signal || v == core_dumped || v == argv ||
           v == argv_truncated;
  }
};

// One argument as a person would type it: bare when that is unambiguous (not empty; no space,
// quote or backslash; nothing the JSON escaper would change), else as a JSON string, which
// escapes every control, C1, bidi control and invalid byte. A bare word never starts with a
// quote, so the two cannot be confused.
void append_argument(std::string& out, std::string_view arg) {
  const size_t at = out.size();
  append_json_string(out, arg);
  const bool plain = !arg.empty() && out.size() - at == arg.size() + 2 &&
                     arg.find_first_of(" \"\\") == std::string_view::npos;
  if (plain) {
    out.erase(at);
    out.append(arg);
  }
}

void append_ledger_status(std::string& out, const Ledger& l) {
  if (l.exit_code) {
    out += "  exit ";
    out += l.exit_code->type == CT_VALUE_UINT ? std::to_string(l.exit_code->as.u)
                                              : std::to_string(l.exit_code->as.i);
  }
  if (l.signal) {
    out += "  signal " + std::to_string(l.signal->as.u);
    const char* name =
        l.signal->as.u < 65 ? sigabbrev_np(static_cast<int>(l.signal->as.u)) : nullptr;
    if (name) {
      out += " (SIG";
      out += name;
      out += ')';
    }
    if (l.core_dumped && l.core_dumped->as.b) out += ", core dumped";
  }
}

void append_ledger_argv(std::string& out, const Ledger& l) {
  if (!l.argv) return;
  out += "  argv:";
  if (l.argv->as.list.n == 0) out += " (none)";
  for (uint32_t i = 0; i < l.argv->as.list.n; ++i) {
    out += ' ';
    append_argument(out, view(l.argv->as.list.items[i]));
  }
  if (l.argv_truncated && l.argv_truncated->as.b) out += " ... (truncated)";
}

}  // namespace

void append_json_line(std::string& out, const ct_event& e, uint64_t seq) {
  out += "{\"probe_source\":";
  append_json_string(out, e.probe_source);
  out += ",\"guest_pid\":" + std::to_string(e.guest_pid) + ",\"guest_comm\":";
  append_json_string(out, e.guest_comm);
  out += ",\"guest_monotonic_ns\":" + std::to_string(e.guest_monotonic_ns);
  if (seq != 0) out += ",\"seq\":" + std::to_string(seq);
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
  const Ledger ledger(e);
  if (ledger.ppid) out += "  ppid " + std::to_string(ledger.ppid->as.u);
  append_ledger_status(out, ledger);
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    if (!known(e.extras[i].value) || ledger.shown(&e.extras[i].value)) continue;
    out += "  ";
    append_console_text(out, e.extras[i].key);
    out += '=';
    append_value(out, e.extras[i].value);
  }
  append_ledger_argv(out, ledger);
  out += '\n';
}

}  // namespace cellos::telemetry::stdout_sink
