#pragma once

#include <string>

namespace cellos::telemetry {

// One line on stderr, prefixed with the program name and the level. Never blocks: lines go
// through a bounded buffer (64 KiB) and a non-blocking description of stderr of their own
// (console_writer.hpp). A line that does not fit is dropped whole and counted, and once the
// console drains one line says how many were dropped. Lines are never torn or interleaved
// mid-line with the agent's other output on the same pipe. Safe from any thread.
void log_line(int level, const std::string& message);

// For the event loop: the fd to wait on for writability while log lines are waiting to be
// written, or -1 when nothing waits.
int log_pending_fd();
// Writes what can be written without blocking (when that fd became writable). The rest is
// written later, and whatever is left at exit is written as far as it can be without blocking.
void log_flush();

}  // namespace cellos::telemetry
