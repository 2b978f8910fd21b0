// The ids a process runs as, from /proc/PID/status: its "Uid:" and "Gid:" lines, each holding
// the real, effective, saved and filesystem id, tab-separated. status is the one procfs file
// that has all four ids of both kinds; /proc/PID/stat has none. Its first line, "Name:", is the
// comm /proc/PID/stat shows too, so an exec whose process is proven by other means (exit records)
// learns its new name from the same read, without stat.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "exec_context.hpp"

namespace cellos::telemetry::process {

// nullopt unless both lines are present and their first two fields are unsigned decimals
// that fit 32 bits (the text is the kernel's, but a fake /proc or a cut read must not pass).
std::optional<ProcessIds> parse_status_ids(std::string_view status);

// The "Name:" line, unescaped: the kernel writes a newline in a name as the two characters \n
// and a backslash as two backslashes (proc_task_name with escaping), every other byte as is.
// nullopt unless the text starts with the line and it ends (a newline) within it.
std::optional<std::string> parse_status_name(std::string_view status);

}  // namespace cellos::telemetry::process
