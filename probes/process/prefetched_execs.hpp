// Exec reads made ahead of their events' turn (context = "full"): the probe reads a process's
// context the moment its exec is known, from a second socket that carries only exec events,
// while the events queued before it wait to be handled in order. Held here by (pid, the
// event's timestamp) until the exec event itself is handled.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include <cellos/telemetry/unique_fd.hpp>

#include "exec_context.hpp"
#include "process_table.hpp"

namespace cellos::telemetry::process {

// What was learnt about one exec.
struct ExecRead {
  std::optional<std::string> comm;  // the name after exec; nullopt: could not be learnt
  uint64_t start_time = kStartNotSeen;
  // The name came from status and stat was not read: start_time is unknown, and the exec's
  // process is proven only as the holder of the pid now, not yet as the table's entry.
  bool start_unread = false;
  // Read ahead of its turn with only argv, exe and cwd (the table's entry will vouch for the
  // process): its name and ids are settled when its turn comes, through dir.
  bool name_unread = false;
  UniqueFd dir;              // the /proc/PID the context was read through, until the exec's turn
  bool raced = false;        // gone before its context (or, minimal, its name in /proc) was read
  bool has_context = false;  // context was read (context = "full")
  ExecContext context;       // never copied: argv views its own storage
};

class PrefetchedExecs {
 public:
  // A read now held for (pid, when), to be filled by the caller; nullptr if one is held
  // already. When every slot is taken, the oldest is given up (that exec is read when handled).
  ExecRead* claim(uint32_t pid, uint64_t when);
  // The read held for (pid, when), released: valid until the next claim. nullptr if none.
  ExecRead* take(uint32_t pid, uint64_t when);
  void clear();
  size_t held() const;

 private:
  // Enough for every exec of a millisecond's burst: the coalesced queue is read that often.
  static constexpr size_t kSlots = 64;
  struct Slot {
    bool used = false;
    uint32_t pid = 0;
    uint64_t when = 0;
    uint64_t order = 0;
    ExecRead read;
  };
  std::array<Slot, kSlots> slots_{};
  uint64_t next_order_ = 0;
};

}  // namespace cellos::telemetry::process
