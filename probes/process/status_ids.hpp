// The ids a process runs as, from /proc/PID/status: its "Uid:" and "Gid:" lines, each holding
// the real, effective, saved and filesystem id, tab-separated. status is the one procfs file
// that has all four ids of both kinds; /proc/PID/stat has none.
#pragma once

#include <optional>
#include <string_view>

#include "exec_context.hpp"

namespace cellos::telemetry::process {

// nullopt unless both lines are present and their first two fields are unsigned decimals
// that fit 32 bits (the text is the kernel's, but a fake /proc or a cut read must not pass).
std::optional<ProcessIds> parse_status_ids(std::string_view status);

}  // namespace cellos::telemetry::process
