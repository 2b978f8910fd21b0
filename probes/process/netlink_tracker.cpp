#include "netlink_tracker.hpp"

#include "proc_stat.hpp"

namespace cellos::telemetry::process {

void NetlinkTracker::handle(const ProcEvent& e) {
  switch (e.kind) {
    case ProcEvent::Kind::kFork:
      // A new thread shares its creator's thread group (pid != tgid); only a new group is a
      // new process.
      if (e.pid == e.tgid) on_fork(e.parent_tgid, e.pid, e.timestamp_ns);
      break;
    case ProcEvent::Kind::kExec:
      on_exec(e.tgid, e.timestamp_ns);  // after exec the caller leads its group, so pid == tgid
      break;
    case ProcEvent::Kind::kComm:
      // /proc/TGID/comm is the leader's name; another thread renaming itself changes only its own.
      if (e.pid == e.tgid) on_comm(e.tgid, e.comm_view());
      break;
    case ProcEvent::Kind::kExit:
      if (e.pid == e.tgid) on_exit(e.tgid, e.timestamp_ns);
      // Every task's exit record, thread or process, has done its job once its exit is handled.
      if (exit_names_) exit_names_->exit_handled(e.pid);
      break;
    case ProcEvent::Kind::kOther:
      break;
  }
}

std::optional<ProcessStat> NetlinkTracker::read_stat_of(uint32_t pid, uint64_t recorded,
                                                        uint64_t when) {
  auto st = read_process_stat(proc_fd_, pid);
  if (!st) return st;
  switch (judge_start(st->start_time, recorded, clock_.tick_of(when))) {
    case Identity::kSame:
      return st;
    case Identity::kOther:
      return std::nullopt;
    case Identity::kUnproven:
      break;
  }
  // Started in the event's own tick. If the event's process had exited before the read, its
  // exit record was queued before the read (the kernel sends it before the process can be
  // reaped and its pid reused), and its exit event is not handled yet, so it is held now.
  // Without exit records this cannot be told; see the README (Limits).
  if (exit_names_ && exit_names_->exit_pending(pid)) return std::nullopt;
  return st;
}

void NetlinkTracker::on_fork(uint32_t parent_tgid, uint32_t child, uint64_t when) {
  // One read gives the name the kernel has now and the start time that identifies the process
  // if a later resync has to tell it from another holder of the same pid.
  auto st = read_stat_of(child, 0, when);
  ProcessEntry* known = table_.find(child);
  if (known) {
    if (!st || known->start_time == 0 || known->start_time == st->start_time) {
      // The same process, already listed by the initial or a resync sweep that ran while this
      // event was queued: report it once.
      if (!known->announced) {
        known->announced = true;
        out_.report(Change::kSpawned, child, known->comm);
      }
      return;
    }
    // Its exit was lost (the kernel does not reuse a pid before the exit): close it first.
    out_.report(Change::kExited, child, known->comm);
    table_.erase(child);
  }
  ProcessEntry e;
  if (st) {
    e.comm = std::move(st->comm);
    e.start_time = st->start_time;
  } else {
    // Gone, or /proc shows another holder of the pid: whatever /proc shows for it from now on
    // is not this process, which a resync must not take it for.
    e.start_time = kStartNotSeen;
    // A fork copies its parent's name.
    if (const ProcessEntry* parent = table_.find(parent_tgid)) e.comm = parent->comm;
  }
  const ProcessEntry* stored = table_.insert(child, e);
  out_.report(Change::kSpawned, child, stored ? stored->comm : e.comm);
}

std::optional<std::string> NetlinkTracker::name_at_exit(uint32_t pid) {
  return exit_names_ ? exit_names_->name_at_exit(pid) : std::nullopt;
}

void NetlinkTracker::on_exec(uint32_t tgid, uint64_t when) {
  ProcessEntry* known = table_.find(tgid);
  std::optional<std::string> comm;
  uint64_t start_time = kStartNotSeen;
  if (auto st = read_stat_of(tgid, known ? known->start_time : 0, when)) {
    comm = std::move(st->comm);
    start_time = st->start_time;
    if (known && known->start_time == 0) known->start_time = start_time;
  } else {
    // Exited, and reaped, before this event was handled (and perhaps its pid reused). Its exit
    // record, sent before /proc forgot it, names it as exec left it unless it renamed itself
    // since (rare). Without the record the exec still happened, under a name we cannot learn.
    comm = name_at_exit(tgid);
    if (!comm) {
      out_.report(Change::kExec, tgid, known ? std::string_view(known->comm) : std::string_view());
      return;
    }
  }
  if (known) {
    known->comm = std::move(*comm);
    out_.report(Change::kExec, tgid, known->comm);
    return;
  }
  ProcessEntry e;
  e.comm = std::move(*comm);
  e.start_time = start_time;
  const ProcessEntry* stored = table_.insert(tgid, e);
  out_.report(Change::kExec, tgid, stored ? stored->comm : e.comm);
}

void NetlinkTracker::on_comm(uint32_t tgid, std::string_view comm) {
  if (ProcessEntry* known = table_.find(tgid)) known->comm.assign(comm);
}

void NetlinkTracker::on_exit(uint32_t tgid, uint64_t when) {
  if (ProcessEntry* known = table_.find(tgid)) {
    // Its comm and exec events kept the name current; an exec handled too late to read /proc
    // took the kernel's exit record instead.
    out_.report(Change::kExited, tgid, known->comm);
    table_.erase(tgid);
    return;
  }
  // Unknown: a process the full table could not hold (report it), or one a resync sweep
  // already closed while this event waited in the queue (do not report it twice).
  if (table_.untracked() == 0) return;
  // Its exit record names it; failing that, /proc while it is a zombie, if provably it.
  auto comm = name_at_exit(tgid);
  if (!comm) {
    if (auto st = read_stat_of(tgid, 0, when)) comm = std::move(st->comm);
  }
  out_.report(Change::kExited, tgid, comm ? std::string_view(*comm) : std::string_view());
}

}  // namespace cellos::telemetry::process
