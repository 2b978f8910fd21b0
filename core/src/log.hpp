#pragma once

#include <string>

namespace cellos::telemetry {

// One line on stderr, prefixed with the program name and the level; written with a single
// write(2) so lines from the agent never interleave mid-line on a shared console.
void log_line(int level, const std::string& message);

}  // namespace cellos::telemetry
