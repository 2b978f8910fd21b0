// The exit records the probe holds until it has handled the matching exit events.
//
// A record is kept from its arrival until the process connector's exit event for the same pid
// has been handled; until then an exec handled late may need its name. Kept per pid in arrival
// order: when a pid was reused while the probe lagged, the dead holder's record came first
// (the kernel sends it before the process can be reaped, so before the pid can be reused), and
// its exit event is handled first, so the oldest record held for a pid is always the one of
// the process whose events are being handled. Nothing is evicted by age: how many records are
// held is bounded by the exit events still queued in the connector, which its receive buffer
// bounds; the capacity is a backstop, and a record dropped for it is counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "exit_accounting.hpp"

namespace cellos::telemetry::process {

class ExitRecords {
 public:
  explicit ExitRecords(size_t capacity) : capacity_(capacity) {}

  // accounting: what the process cost (a leader's record), or nullptr (a thread's, or none).
  void add(uint32_t pid, std::string_view comm, const ExitAccounting* accounting = nullptr);
  // The name in the oldest record held for pid.
  std::optional<std::string> oldest(uint32_t pid) const;
  // The accounting in the oldest record held for pid, if it carries any.
  std::optional<ExitAccounting> oldest_accounting(uint32_t pid) const;
  bool holds(uint32_t pid) const { return count_.count(pid) != 0; }
  // The exit event for pid was handled: its oldest record is no longer needed. False when none
  // was held.
  bool release(uint32_t pid);
  void clear();

  size_t size() const { return held_; }
  // Records dropped unreleased because the capacity was reached.
  uint64_t evicted() const { return evicted_; }

 private:
  struct Record {
    uint32_t pid;
    bool released;
    bool has_accounting;
    char comm[16];
    ExitAccounting accounting;
  };
  const Record* oldest_record(uint32_t pid) const;
  std::deque<Record> order_;                      // arrival order; released ones leave the front
  std::unordered_map<uint32_t, uint32_t> count_;  // unreleased records per pid
  size_t held_ = 0;                               // unreleased records
  size_t capacity_;
  uint64_t evicted_ = 0;
};

}  // namespace cellos::telemetry::process
