// Builds the process tree from the events, in the order they arrived.
//
// Identity is process_id (unique within the VM's boot, the same in every event about one
// process); events without it (an agent older than the ledger, the /proc method) fall back to
// the pid, and a process.spawned for a pid already seen starts a new process, so a reused pid
// never merges two processes. The parent is parent_id, else the live process with pid ppid;
// a process whose parent never appeared is a root. Kernel records (kernel.oom_kill,
// kernel.segfault) carry only a pid: they mark the process that holds that pid when they
// arrive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "event.hpp"
#include "process.hpp"

namespace cellos::telemetry::tree {

// A process.lost event: the kernel dropped lost_count events at time ns.
struct LostEvents {
  uint64_t ns = 0;
  uint64_t count = 0;
};

class Ledger {
 public:
  void apply(const Event& e);

  const std::vector<Process>& processes() const { return processes_; }
  std::vector<size_t> roots() const;  // processes without a known parent, in order
  const std::vector<LostEvents>& lost() const { return lost_; }
  // The recording's span: the first and last guest_monotonic_ns seen (0 when no events).
  uint64_t first_ns() const { return first_ns_.value_or(0); }
  uint64_t last_ns() const { return last_ns_; }
  // Every distinct `vm` label seen, in order of first appearance.
  const std::vector<std::string>& vms() const { return vms_; }

 private:
  size_t find_or_create(const Event& e, bool spawning);
  std::optional<size_t> by_pid(uint64_t pid) const;
  void link_parent(size_t index, const Event& e);
  void adopt(size_t parent, size_t child);

  std::vector<Process> processes_;
  std::unordered_map<uint64_t, size_t> by_key_;  // process_id or own key -> index
  std::unordered_map<uint64_t, size_t> by_pid_;  // pid -> the latest process holding it
  // Children whose parent_id has not appeared yet (a snapshot may list a child first).
  std::unordered_map<uint64_t, std::vector<size_t>> waiting_for_parent_;
  std::vector<LostEvents> lost_;
  std::vector<std::string> vms_;
  std::optional<uint64_t> first_ns_;
  uint64_t last_ns_ = 0;
  uint64_t next_own_key_ = 1;
};

}  // namespace cellos::telemetry::tree
