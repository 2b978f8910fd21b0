#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cellos::telemetry::stdout_sink {

// {"probe_source":...,"guest_pid":...,"guest_comm":...,"guest_monotonic_ns":...,extras}\n
// With seq (not 0): "seq" first after guest_monotonic_ns, where the vsock sink's frames have it.
void append_json_line(std::string& out, const ct_event& e, uint64_t seq = 0);

// Aligned, for people: "   12.345678901 process.spawned    pid 1234  comm sleep  key=value"
// Text from the event is escaped for a console (cellos/telemetry/text.hpp, append_console_text):
// "\x0a" for a newline, "\u{9b}" for CSI, "\\" for a backslash.
// Extra values in their JSON form: 7, -3, true, "text escaped as in JSON", ["a","b"].
// The process ledger's keys read as words instead: "ppid 1" after the comm, then "exit 3" or
// "signal 9 (SIGKILL), core dumped", the other extras, and last "argv: ls -l "a b"" (an argument
// bare when unambiguous, else a JSON string; " ... (truncated)" when argv_truncated).
void append_text_line(std::string& out, const ct_event& e);

}  // namespace cellos::telemetry::stdout_sink
