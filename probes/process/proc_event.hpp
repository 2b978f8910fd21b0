// One kernel process event, reduced to what the probe uses. Kept free of the kernel headers so
// the tracker can be tested with events made up in the test.
#pragma once

#include <cstdint>
#include <string_view>

namespace cellos::telemetry::process {

struct ProcEvent {
  enum class Kind { kFork, kExec, kComm, kExit, kUid, kGid, kOther };
  Kind kind = Kind::kOther;
  uint32_t pid = 0;           // fork: the child's; others: the task's
  uint32_t tgid = 0;          // fork: the child's thread group; a new process has pid == tgid
  uint32_t parent_tgid = 0;   // fork only
  char comm[16] = {};         // comm events only; NUL-padded by the kernel
  uint64_t timestamp_ns = 0;  // when the kernel sent it (CLOCK_MONOTONIC)
  // exit only: the task's exit_code, a wait status (exit(3) is 0x300, SIGKILL 9, a core dump
  // sets 0x80). The event's exit_signal is not the killing signal but the one the parent gets.
  uint32_t exit_code = 0;
  // uid and gid events (a set*id call, or an exec of a set-user/group-ID file, changed the
  // task's credentials): the real and effective id after the change.
  uint32_t real_id = 0;
  uint32_t effective_id = 0;
  // Where the kernel numbered it (seq_gaps.hpp): kOther stands for every message the probe has
  // no use for (acknowledgements, sid, ptrace...), handed out too so a reader can account for them.
  uint32_t cpu = 0;
  uint32_t seq = 0;

  std::string_view comm_view() const;
};

}  // namespace cellos::telemetry::process
