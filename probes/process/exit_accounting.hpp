// What a process cost, from the kernel's taskstats exit records (taskstats_exits.hpp).
#pragma once

#include <cstdint>

namespace cellos::telemetry::process {

// For the whole thread group: a single-threaded process's own record (AGGR_PID); for a
// multi-threaded one, the group's aggregate (AGGR_TGID) sent with its last thread's exit,
// where the kernel fills it, else the sum of every thread's record (see README: accounting).
struct ExitAccounting {
  uint64_t cpu_user_us = 0;    // ac_utime
  uint64_t cpu_system_us = 0;  // ac_stime
  uint64_t max_rss_kib = 0;    // hiwater_rss: the address space's peak, shared by its threads
  uint64_t read_bytes = 0;     // storage I/O (task_io_accounting), not bytes passed to read(2)
  uint64_t write_bytes = 0;
  uint64_t elapsed_us = 0;  // ac_etime of the thread-group leader: the process's lifetime
};

}  // namespace cellos::telemetry::process
