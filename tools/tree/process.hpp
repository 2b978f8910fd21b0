// One process as the tree knows it: everything the ledger's events said about it, merged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cellos::telemetry::tree {

// How a process ended, as far as the events tell; the order is the severity used for colour.
enum class Outcome {
  kRunning,    // no process.exited before the input ended
  kExitedOk,   // exit_code 0
  kUnknown,    // exited, but the event had no status (the /proc method, a resync)
  kFailed,     // exit_code other than 0
  kSignalled,  // killed by a signal
  kSegfault,   // the kernel logged a segfault for it
  kOomKilled,  // the kernel's OOM killer chose it
};

struct Process {
  uint64_t key = 0;  // process_id, or a number of the tree's own when the events had none
  std::optional<uint64_t> process_id;
  uint32_t pid = 0;
  std::optional<uint64_t> ppid;
  std::optional<size_t> parent;  // index into Ledger::processes()
  std::vector<size_t> children;  // in order of first appearance

  std::string comm;  // the last name the events gave
  std::optional<std::string> exe, cwd;
  std::optional<std::vector<std::string>> argv;  // from the last process.exec
  bool argv_truncated = false;
  std::optional<uint64_t> uid, euid;

  std::optional<uint64_t> start_ns, end_ns;  // guest CLOCK_MONOTONIC
  std::optional<uint64_t> duration_ns;
  std::optional<int64_t> exit_code;
  std::optional<uint64_t> signal;
  bool core_dumped = false;
  std::optional<uint64_t> cpu_user_us, cpu_system_us, max_rss_kib, read_bytes, write_bytes;

  bool exited = false;
  bool initial = false;       // already running when the agent started
  bool raced = false;         // gone before its exec context could be read
  bool lost_spawn = false;    // its start was not seen: learnt from a resync or only at exit
  bool start_unseen = false;  // ... only at exit (or exec): no process.spawned at all
  bool lost_exit = false;     // its end was learnt from a resync: the status is unknown
  bool oom_killed = false;
  bool segfault = false;

  Outcome outcome() const;
  // Non-zero exit, a signal, a segfault or an OOM kill: what --failed keeps.
  bool failed() const;
};

}  // namespace cellos::telemetry::tree
