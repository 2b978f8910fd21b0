// Turns the kernel's process events into process.spawned / exec / exited, keeping each
// process's last known comm in the shared table.
#pragma once

#include <cstdint>

#include "exit_names.hpp"
#include "proc_event.hpp"
#include "process_table.hpp"

namespace cellos::telemetry::process {

class NetlinkTracker {
 public:
  // proc_fd: the open /proc (or a fake tree), for comm and start time of new processes.
  // exit_names: names recorded at exit, for processes /proc no longer shows; may be null.
  NetlinkTracker(int proc_fd, ProcessTable& table, Reporter& out, ExitNames* exit_names = nullptr)
      : proc_fd_(proc_fd), table_(table), out_(out), exit_names_(exit_names) {}

  void handle(const ProcEvent& e);

 private:
  void on_fork(uint32_t parent_tgid, uint32_t child);
  void on_exec(uint32_t tgid);
  void on_comm(uint32_t tgid, std::string_view comm);
  void on_exit(uint32_t tgid);
  std::optional<std::string> name_at_exit(uint32_t pid);

  int proc_fd_;
  ProcessTable& table_;
  Reporter& out_;
  ExitNames* exit_names_;
};

}  // namespace cellos::telemetry::process
