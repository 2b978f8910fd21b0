// What the probe knows about each live process, shared by the procfs walk and the netlink
// source so that a resync after netlink loss compares /proc against exactly what was reported.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "exec_context.hpp"

namespace cellos::telemetry::process {

enum class Change { kSpawned, kExec, kExited };

const char* probe_source(Change c);

struct ExitAccounting;  // exit_accounting.hpp

// One observation about one process, as the sources hand it to the probe, which turns it into
// an event: every field the event may carry, each with "absent" spelt out, so a source sets
// only what it learnt. Views and pointers are valid for the report() call only.
struct ProcessRecord {
  Change change = Change::kSpawned;
  uint32_t pid = 0;
  std::string_view comm;
  uint64_t process_id = 0;  // process_id.hpp; every event carries it
  // When the kernel sent the event this record reports (CLOCK_MONOTONIC, its own timestamp);
  // 0 for what a sweep found, which is reported as of now.
  uint64_t when_ns = 0;
  // process.spawned
  bool has_parent = false;  // ppid and parent_id
  uint32_t ppid = 0;
  uint64_t parent_id = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC; 0: unknown
  bool initial = false;   // listed by the first sweep at start
  // process.exec, and process.spawned from a sweep: nullptr when not read (context="minimal")
  const ExecContext* context = nullptr;
  bool raced = false;  // exec: gone before its context could be read
  // process.exited
  bool has_status = false;
  uint32_t wait_status = 0;  // the kernel's exit_code: as waitpid(2) reports it
  bool has_duration = false;
  uint64_t duration_ns = 0;
  const ExitAccounting* accounting = nullptr;  // taskstats; nullptr: none
  // Reported by a resynchronisation after loss rather than by its own kernel event.
  bool resync = false;
};

// Where the sources put what they observe; the probe turns it into events.
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void report(const ProcessRecord& record) = 0;
};

// A start time no process has: see ProcessEntry::start_time.
inline constexpr uint64_t kStartNotSeen = UINT64_MAX;

struct ProcessEntry {
  std::string comm;  // last known name
  // Field 22 of /proc/PID/stat; 0 while unknown; kStartNotSeen when the process was gone (or
  // not provably itself) at its first read, so no holder of the pid /proc shows later is it.
  uint64_t start_time = 0;
  uint64_t process_id = 0;  // process_id.hpp; fixed when the entry is made
  uint64_t start_ns = 0;    // CLOCK_MONOTONIC when it started; 0: unknown
  // CLOCK_MONOTONIC when comm was last known current: the timestamp of the kernel event that set
  // it, or the time of the /proc read. A fork lends its parent's name to the child only if it
  // is newer than the last loss of events (netlink_tracker.hpp).
  uint64_t name_ns = 0;
  // context = "full": the ids it runs as, and since when (CLOCK_MONOTONIC) every change to them
  // has been seen: a status read sets both, a fork lends the parent's, the connector's uid and
  // gid events keep the values current (not the time). 0: unknown (never read, or one thread's
  // credentials changed apart from its leader's). An exec takes them instead of reading status
  // while they are newer than the last loss of events (netlink_tracker.hpp).
  ProcessIds ids;
  uint64_t ids_ns = 0;
  uint64_t dir_ino = 0;   // d_ino of /proc/PID at the last listing; 0 before one
  uint32_t sweep = 0;     // the last sweep that listed it
  bool announced = true;  // process.spawned was emitted (the silent first sweep sets false)
};

// What the table knows of a process as a record: its name and identity; the source that reports
// it adds what the event brings.
inline ProcessRecord record_of(Change change, uint32_t pid, const ProcessEntry& e) {
  ProcessRecord r;
  r.change = change;
  r.pid = pid;
  r.comm = e.comm;
  r.process_id = e.process_id;
  return r;
}

// pid -> entry, bounded so that a guest with runaway pids cannot grow the agent without limit.
class ProcessTable {
 public:
  explicit ProcessTable(size_t capacity);

  ProcessEntry* find(uint32_t pid);
  // nullptr when the table is full; the caller reports the process but cannot remember it, and
  // untracked() says how often that happened.
  ProcessEntry* insert(uint32_t pid, ProcessEntry entry);
  void erase(uint32_t pid) { map_.erase(pid); }

  size_t size() const { return map_.size(); }
  size_t capacity() const { return capacity_; }
  uint64_t untracked() const { return untracked_; }

  // Visits every entry; the visitor returns true to drop it.
  template <class F>
  void erase_if(F&& drop) {
    for (auto it = map_.begin(); it != map_.end();) {
      it = drop(it->first, it->second) ? map_.erase(it) : std::next(it);
    }
  }

 private:
  std::unordered_map<uint32_t, ProcessEntry> map_;
  size_t capacity_;
  uint64_t untracked_ = 0;
};

}  // namespace cellos::telemetry::process
