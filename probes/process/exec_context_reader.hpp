// Reads a process's exec context (exec_context.hpp) through its open /proc/PID directory.
//
// Why through the directory: the caller opens /proc/PID once and proves with that descriptor's
// stat (start_time.hpp) that it is the process its event is about. The directory stands for the
// kernel's struct pid, not for the number, so every read through it afterwards is about that
// same process or fails (ENOENT, ESRCH) once it is gone; a later holder of the pid is never
// read. Cost per exec: one read of cmdline (a single read(2): see the .cpp) and two readlinkat;
// status only where the ids are not known without it (netlink_tracker.hpp: ids).
#pragma once

#include <cstddef>
#include <vector>

#include "exec_context.hpp"

namespace cellos::telemetry::process {

class ExecContextReader {
 public:
  // argv_max_bytes: the bound on argv (cmdline.hpp).
  explicit ExecContextReader(size_t argv_max_bytes);

  // Fills out with whatever can be read: argv, exe and cwd, and with with_ids the ids and name
  // from status. Returns false when the process had exited (a zombie has no memory, executable
  // or working directory left) before all of it could be read.
  bool read(int pid_dir_fd, ExecContext& out, bool with_ids = true);
  // status alone: the ids and the name into out (has_ids, has_name); false if unreadable.
  bool read_ids(int pid_dir_fd, ExecContext& out);

 private:
  size_t argv_max_bytes_;
  std::vector<char> buf_;  // cmdline: argv_max_bytes + 1, so a longer one shows as such
};

}  // namespace cellos::telemetry::process
