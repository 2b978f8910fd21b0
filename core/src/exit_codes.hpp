// The agent's exit codes, from sysexits.h so init systems and scripts read them the usual way.
// One list, shared by main.cpp and the --fork parent (readiness.cpp), which exits with the
// child's code or its own; the man page and `--help` document the same values.
#pragma once

namespace cellos::telemetry {

inline constexpr int kExitOk = 0;         // clean stop (SIGTERM/SIGINT), or --help/--version
inline constexpr int kExitUsage = 64;     // EX_USAGE: bad command line
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: internal error, --fork timeout
inline constexpr int kExitConfig = 78;    // EX_CONFIG: configuration or plugin-loading error

}  // namespace cellos::telemetry
