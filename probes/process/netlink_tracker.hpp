// Turns the kernel's process events into process.spawned / exec / exited, keeping each
// process's last known comm in the shared table.
//
// With context = "full" it also keeps each process's ids, so that an exec needs no status read:
// a status read (the initial sweep, or a parent's when it forks) sets them, a fork lends the
// parent's to the child, and the connector's uid and gid events (every set*id call, and an exec
// of a set-user/group-ID file, which the kernel sends before the exec event) keep them current.
// They are used only while no event was lost since they were read (note_loss).
//
// Whatever it reads from /proc on behalf of an event must be about the event's process: by
// the time a lagging probe handles the event, the process may be gone and its pid taken by
// another. A name is read from /proc/PID/stat (with the start time) or, for an exec whose
// context is read, from its status, and used only when the start time (start_time.hpp), the
// exit records (exit_names.hpp) or a table entry current since the last loss prove whose it
// is. Otherwise the event carries what is known without it: the parent's name for a fork, the
// name at exit for an exec.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include <cellos/telemetry/unique_fd.hpp>
#include "exec_context.hpp"
#include "exec_context_reader.hpp"
#include "exit_accounting.hpp"
#include "exit_names.hpp"
#include "prefetched_execs.hpp"
#include "proc_event.hpp"
#include "proc_stat.hpp"
#include "process_id.hpp"
#include "process_table.hpp"
#include "start_time.hpp"

namespace cellos::telemetry::process {

class NetlinkTracker {
 public:
  // proc_fd: the open /proc (or a fake tree), for comm and start time of new processes.
  // exit_names: names recorded at exit, for processes /proc no longer shows; may be null.
  // clock: converts event timestamps to start-time ticks (a fixed one in tests).
  NetlinkTracker(int proc_fd, ProcessTable& table, Reporter& out, ExitNames* exit_names = nullptr,
                 StartClock clock = StartClock::system())
      : proc_fd_(proc_fd), table_(table), out_(out), exit_names_(exit_names), clock_(clock) {}

  void handle(const ProcEvent& e);
  // context = "full": reads the context of an exec as soon as its event is known, before the
  // events queued ahead of it are handled (a short-lived process would be gone by then); the
  // exec, when handled, takes what was read. Bounded: the oldest read unclaimed is dropped.
  void prefetch_exec(uint32_t tgid, uint64_t when);
  // Events may have been lost, as noticed at noticed_ns (CLOCK_MONOTONIC). A lost rename would
  // leave a parent's remembered name stale, and the resync after a loss lists processes without
  // re-reading the names of those it knows: a fork lends its child the parent's name only if
  // that name is newer than the last loss noticed (or the last resync); otherwise the child's
  // is read from /proc. Kernel events stamped after the notice are newer than what was lost:
  // the kernel drops every message while the queue is congested, before the read that empties
  // it, and the notice comes before that read.
  void note_loss(uint64_t noticed_ns) { loss_noticed_ns_ = std::max(loss_noticed_ns_, noticed_ns); }
  // context = "full": read each exec'd process's exec context through this reader; without
  // one (context = "minimal"), an exec is only named.
  void set_context_reader(ExecContextReader* reader) { context_reader_ = reader; }

 private:
  void on_fork(uint32_t parent_tgid, uint32_t child, uint64_t when);
  void on_exec(uint32_t tgid, uint64_t when);
  // What /proc (or the exit record) says about an exec: its new name, start time, context.
  // recorded: the table's start time for the pid (0 if none); current: the table's entry is
  // provably the exec's process (current()), so its start time needs no reading; early: read
  // before the exec's turn, when the table cannot tell yet (on_exec judges then).
  enum class Entry { kUnproven, kCurrent, kEarly };
  void read_exec(uint32_t tgid, uint64_t recorded, Entry entry, uint64_t when, ExecRead& out);
  // context = "full", with exit records: the context read first, through a directory proven to
  // be the live process's by the absence of its exit record; false when that cannot be proven
  // (then read_exec reads stat first and judges its start time, as for a name). The name comes
  // with the context (status); stat is read only for a start time the table cannot vouch for.
  bool read_exec_alive(int dir_fd, uint32_t tgid, uint64_t recorded, Entry entry, ExecRead& out);
  // No loss was noticed since the process started: every event about it has been handled, so
  // the entry is the process that holds its pid (its exit would have removed it).
  bool current(const ProcessEntry& e) const { return e.start_ns > loss_noticed_ns_; }
  // What an early read left for the exec's turn: the ids (the table's, or status read now) and
  // the name (the exit record's, or comm read now); closes the read's directory.
  void complete_exec(uint32_t tgid, ProcessEntry* known, Entry entry, ExecRead& got);
  // The ids are what the process runs as: every change since they were read has been seen.
  bool ids_current(const ProcessEntry& e) const {
    return e.ids_ns != 0 && e.ids_ns > loss_noticed_ns_;
  }
  // A uid or gid event: the leader's new ids; a thread's that disagree make them unknown.
  void on_ids(const ProcEvent& e);
  // status of the entry's process (proven by its start time): its ids current again.
  bool refresh_ids(uint32_t tgid, ProcessEntry& e);
  void on_comm(uint32_t tgid, std::string_view comm, uint64_t when);
  void on_exit(uint32_t tgid, uint64_t when, uint32_t wait_status);
  // The exit's taskstats accounting and the lifetime it measured, when a record is at hand.
  void add_accounting(uint32_t tgid, ProcessRecord& r);
  // The parent's process_id as it was at a fork at `when`; 0 when it cannot be known.
  uint64_t parent_id(uint32_t parent_tgid, uint64_t when);
  std::optional<std::string> name_at_exit(uint32_t pid);
  // /proc/PID/stat, if it is proven to be about the process an event at `when` (CLOCK_MONOTONIC
  // ns) is about; recorded: that process's start time if known (0 if not).
  // dir_fd: an open /proc/PID (open_pid_dir) to read it through, so that further reads through
  // it are about the same process (exec_context_reader.hpp); -1 reads /proc/PID/stat by path.
  // unproven: where to keep a read that could be neither proven nor disproven its (may be null).
  std::optional<ProcessStat> read_stat_of(uint32_t pid, uint64_t recorded, uint64_t when,
                                          int dir_fd = -1,
                                          std::optional<ProcessStat>* unproven = nullptr);

  int proc_fd_;
  ProcessTable& table_;
  Reporter& out_;
  ExitNames* exit_names_;
  StartClock clock_;
  ExecContextReader* context_reader_ = nullptr;
  ExecRead exec_read_;       // reused for every exec not prefetched
  ExecContext ids_scratch_;  // refresh_ids' status read
  PrefetchedExecs prefetched_;
  uint64_t loss_noticed_ns_ = 0;
  ExitAccounting accounting_;  // likewise for every exit
};

}  // namespace cellos::telemetry::process
