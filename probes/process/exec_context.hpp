// What a process runs as: its executable, arguments, working directory and ids, read from
// /proc/PID when an exec (or a sweep) reports it. Filled by exec_context_reader.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellos::telemetry::process {

struct ProcessIds {
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
};

// Reused from one process to the next, so reading one allocates only while it grows.
struct ExecContext {
  bool has_exe = false, has_cwd = false, has_argv = false, has_ids = false;
  std::string exe;  // readlink of /proc/PID/exe, valid UTF-8, at most kMaxPathBytes
  std::string cwd;  // readlink of /proc/PID/cwd, likewise
  std::vector<std::string_view> argv;  // into args_
  bool argv_truncated = false;         // argv was cut at argv_max_bytes (or the list limits)
  ProcessIds ids;
  // The name (comm) from status's first line, read with the ids: what /proc/PID/stat would
  // show, so an exec proven to be its process needs no stat read. Not reported as an extra.
  bool has_name = false;
  std::string name;

  void clear() {
    has_exe = has_cwd = has_argv = has_ids = has_name = false;
    name.clear();
    exe.clear();
    cwd.clear();
    argv.clear();
    args_.clear();
    argv_truncated = false;
  }

  std::string args_;                              // the arguments back to back, repaired
  std::vector<std::pair<size_t, size_t>> spans_;  // into args_, while it grows
};

}  // namespace cellos::telemetry::process
