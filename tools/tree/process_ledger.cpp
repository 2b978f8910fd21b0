#include "process_ledger.hpp"

#include <algorithm>

namespace cellos::telemetry::tree {
namespace {

// Keys of the tree's own, for processes without a process_id, kept apart from real ones.
constexpr uint64_t kOwnKeyBit = uint64_t{1} << 63;

// The exec context, wherever an event carries it: process.exec, and process.spawned for the
// processes already running at start (initial) or found by a resync.
void take_context(Process& p, const Event& e) {
  if (e.exe) p.exe = e.exe;
  if (e.cwd) p.cwd = e.cwd;
  if (e.argv) {
    p.argv = e.argv;
    p.argv_truncated = e.argv_truncated;
  }
  if (e.uid) p.uid = e.uid;
  if (e.euid) p.euid = e.euid;
}

}  // namespace

void Ledger::apply(const Event& e) {
  if (!first_ns_ || e.guest_monotonic_ns < *first_ns_) first_ns_ = e.guest_monotonic_ns;
  last_ns_ = std::max(last_ns_, e.guest_monotonic_ns);
  if (e.vm && std::find(vms_.begin(), vms_.end(), *e.vm) == vms_.end()) vms_.push_back(*e.vm);

  const std::string& kind = e.probe_source;
  if (kind == "process.spawned") {
    const size_t before = processes_.size();
    size_t i = find_or_create(e, true);
    Process& p = processes_[i];
    if (i < before && !p.start_unseen) {
      // Reported again (a resync after a snapshot restore, a restarted agent): the first
      // account stands; only what it lacked is taken.
      if (!p.argv && !p.exe) take_context(p, e);
      return;
    }
    p.comm = e.guest_comm;
    p.start_ns = e.start_ns ? e.start_ns : e.guest_monotonic_ns;
    p.initial = e.initial;
    p.lost_spawn = e.resync;
    p.start_unseen = false;
    p.ppid = e.ppid;
    take_context(p, e);
    link_parent(i, e);
  } else if (kind == "process.exec") {
    Process& p = processes_[find_or_create(e, false)];
    p.comm = e.guest_comm;
    p.raced = p.raced || e.raced;
    take_context(p, e);
  } else if (kind == "process.exited") {
    Process& p = processes_[find_or_create(e, false)];
    p.comm = e.guest_comm;
    p.exited = true;
    p.lost_exit = e.resync;
    p.exit_code = e.exit_code;
    p.signal = e.signal;
    p.core_dumped = e.core_dumped;
    p.duration_ns = e.duration_ns;
    // The start plus the kernel's duration is exact; the event's own time is when the agent
    // saw the exit.
    p.end_ns = p.start_ns && e.duration_ns ? *p.start_ns + *e.duration_ns : e.guest_monotonic_ns;
    p.cpu_user_us = e.cpu_user_us;
    p.cpu_system_us = e.cpu_system_us;
    p.max_rss_kib = e.max_rss_kib;
    p.read_bytes = e.read_bytes;
    p.write_bytes = e.write_bytes;
  } else if (kind == "process.lost") {
    lost_.push_back({e.guest_monotonic_ns, e.lost_count.value_or(0)});
  } else if (kind == "kernel.oom_kill" || kind == "kernel.segfault") {
    // The record names a pid: the process holding it now (it may have exited just before the
    // record was read, but its pid cannot be reused before its exit was reported).
    if (auto i = by_pid(e.guest_pid)) {
      (kind == "kernel.oom_kill" ? processes_[*i].oom_killed : processes_[*i].segfault) = true;
    }
  }
}

size_t Ledger::find_or_create(const Event& e, bool spawning) {
  uint64_t key = 0;
  if (e.process_id) {
    key = *e.process_id;
    if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
  } else {
    // By pid: the live process holding it, unless this is a new process being spawned.
    if (auto i = by_pid(e.guest_pid); i && !spawning && !processes_[*i].exited) return *i;
    key = kOwnKeyBit | next_own_key_++;
  }
  size_t i = processes_.size();
  Process p;
  p.key = key;
  p.process_id = e.process_id;
  p.pid = e.guest_pid;
  p.comm = e.guest_comm;
  p.lost_spawn = p.start_unseen = !spawning;
  processes_.push_back(std::move(p));
  by_key_[key] = i;
  by_pid_[e.guest_pid] = i;
  if (auto w = waiting_for_parent_.find(key); w != waiting_for_parent_.end()) {
    for (size_t child : w->second) adopt(i, child);
    waiting_for_parent_.erase(w);
  }
  return i;
}

std::optional<size_t> Ledger::by_pid(uint64_t pid) const {
  auto it = by_pid_.find(pid);
  if (it == by_pid_.end()) return std::nullopt;
  return it->second;
}

void Ledger::link_parent(size_t i, const Event& e) {
  if (processes_[i].parent) return;
  if (e.parent_id) {
    // Only parent_id: a ppid could name a later holder of the parent's pid.
    if (auto it = by_key_.find(*e.parent_id); it != by_key_.end()) {
      if (it->second != i) adopt(it->second, i);
    } else if (*e.parent_id != 0) {
      waiting_for_parent_[*e.parent_id].push_back(i);
    }
  } else if (e.ppid) {
    if (auto parent = by_pid(*e.ppid); parent && *parent != i) adopt(*parent, i);
  }
}

void Ledger::adopt(size_t parent, size_t child) {
  processes_[child].parent = parent;
  // Children in order of start, those of unknown start last.
  auto starts = [&](size_t x) { return processes_[x].start_ns.value_or(UINT64_MAX); };
  auto& kids = processes_[parent].children;
  auto at = std::upper_bound(kids.begin(), kids.end(), child,
                             [&](size_t a, size_t b) { return starts(a) < starts(b); });
  kids.insert(at, child);
}

std::vector<size_t> Ledger::roots() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < processes_.size(); ++i) {
    if (!processes_[i].parent) out.push_back(i);
  }
  return out;
}

}  // namespace cellos::telemetry::tree
