// The /proc delta walk: one listing per sweep, compared against the process table.
//
// A steady-state sweep costs one getdents64 pass over /proc and nothing per known process: the
// listing's d_ino for /proc/PID stays the same while the kernel keeps that directory's inode,
// so an unchanged inode means "same process, nothing to read". A changed inode is only a hint
// (the dentry may have been evicted and re-created for the same process) and the start time in
// /proc/PID/stat decides whether the pid was reused. New pids cost one read of /proc/PID/stat,
// which yields comm and start time together.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <cellos/telemetry/unique_fd.hpp>
#include "exec_context.hpp"
#include "exec_context_reader.hpp"
#include "process_table.hpp"
#include "start_time.hpp"

namespace cellos::telemetry::process {

class ProcfsWalker {
 public:
  // Opens proc_root (a fake tree in tests); throws std::system_error naming it when it cannot.
  // clock: places start times on CLOCK_MONOTONIC (a fixed one in tests).
  ProcfsWalker(const std::string& proc_root, ProcessTable& table,
               StartClock clock = StartClock::system());

  // context = "full": the process.spawned a reporting sweep emits carry the exec context.
  void set_context_reader(ExecContextReader* reader) { context_reader_ = reader; }
  // Exits are reported from the kernel's exit events (netlink): a zombie's was sent before it
  // could be listed, so one the table does not know is not reported as new (nothing would
  // report it gone once reaped). Polling alone (false) reports it, and its exit next sweep.
  void set_exit_events(bool on) { exit_events_ = on; }

  // The open proc_root, for reading /proc/PID files relative to it.
  int root_fd() const { return root_.get(); }

  struct Result {
    int error = 0;          // errno when the listing failed; nothing was reconciled then
    size_t listed = 0;      // pid directories in the listing
    size_t stat_reads = 0;  // /proc/PID/stat files read (new pids and changed inodes)
    size_t spawned = 0, exited = 0;
  };

  // Lists proc_root and reconciles the table with it: new pids are spawned, pids no longer
  // listed exited (with their last known comm), a reused pid both. With report = false the
  // sweep only learns (the silent first sweep); entries it adds are marked not announced.
  // initial: the sweep at start, whose process.spawned say initial = true.
  Result sweep(Reporter& out, bool report, bool initial = false);

 private:
  struct Listed {
    uint32_t pid;
    uint64_t ino;
  };
  int list();  // fills listing_; 0 or errno
  // The process_id of a listed process's parent; 0 when it cannot be told.
  uint64_t parent_id(uint32_t ppid, uint64_t child_start);

  UniqueFd root_;
  ProcessTable& table_;
  StartClock clock_;
  ExecContextReader* context_reader_ = nullptr;
  bool exit_events_ = false;
  ExecContext context_;
  std::vector<uint64_t> buf_;  // getdents64 records, 8-byte aligned as the kernel writes them
  std::vector<Listed> listing_;
  uint32_t generation_ = 0;
};

}  // namespace cellos::telemetry::process
