#include "netlink_tracker.hpp"

#include <cellos/telemetry/clock.hpp>

#include "proc_stat.hpp"

namespace cellos::telemetry::process {
namespace {

// How long before its fork event's timestamp the kernel can have taken the child's start time:
// copy_process() takes it, attaches the pid under tasklist_lock and then sends the event, a few
// microseconds without sleeping. A generous bound: only a fork preempted for longer than this
// right there, across a tick boundary, would be given the next tick. Within this much of a tick
// boundary (a tenth of forks at USER_HZ 100) the probe reads /proc/PID/stat instead.
constexpr uint64_t kForkStampWindowNs = 1000000;

}  // namespace

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
      if (e.pid == e.tgid) on_comm(e.tgid, e.comm_view(), e.timestamp_ns);
      break;
    case ProcEvent::Kind::kExit:
      if (e.pid == e.tgid) on_exit(e.tgid, e.timestamp_ns, e.exit_code);
      // Every task's exit record, thread or process, has done its job once its exit is handled.
      if (exit_names_) exit_names_->exit_handled(e.pid);
      break;
    case ProcEvent::Kind::kUid:
    case ProcEvent::Kind::kGid:
      on_ids(e);
      break;
    case ProcEvent::Kind::kOther:
      break;
  }
}

void NetlinkTracker::on_ids(const ProcEvent& e) {
  ProcessEntry* known = table_.find(e.tgid);
  if (!known || known->ids_ns == 0) return;
  if (e.pid != e.tgid) {
    // A thread's own credentials. glibc and Go change every thread's alike, each with its own
    // event, so a thread's event that agrees with the leader's ids says nothing new; one that
    // does not (its turn came first, or it changed alone) leaves the process's ids unknown
    // until the next status read.
    const ProcessIds& ids = known->ids;
    const bool agrees = e.kind == ProcEvent::Kind::kUid
                            ? ids.uid == e.real_id && ids.euid == e.effective_id
                            : ids.gid == e.real_id && ids.egid == e.effective_id;
    if (!agrees) known->ids_ns = 0;
    return;
  }
  if (e.kind == ProcEvent::Kind::kUid) {
    known->ids.uid = e.real_id;
    known->ids.euid = e.effective_id;
  } else {
    known->ids.gid = e.real_id;
    known->ids.egid = e.effective_id;
  }
}

bool NetlinkTracker::refresh_ids(uint32_t tgid, ProcessEntry& e) {
  if (e.start_time == 0 || e.start_time == kStartNotSeen) return false;
  UniqueFd dir = open_pid_dir(proc_fd_, tgid);
  if (!dir) return false;
  const uint64_t read_at = monotonic_ns();
  const auto st = read_stat_at(dir.get());
  if (!st || st->start_time != e.start_time) return false;  // another holder of the pid
  if (!context_reader_->read_ids(dir.get(), ids_scratch_)) return false;
  e.ids = ids_scratch_.ids;
  e.ids_ns = read_at;
  return true;
}

std::optional<ProcessStat> NetlinkTracker::read_stat_of(uint32_t pid, uint64_t recorded,
                                                        uint64_t when, int dir_fd,
                                                        std::optional<ProcessStat>* unproven) {
  std::optional<ProcessStat> st =
      dir_fd >= 0 ? read_stat_at(dir_fd) : read_process_stat(proc_fd_, pid);
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
  if (exit_names_ && exit_names_->exit_pending(pid)) {
    if (unproven) *unproven = std::move(st);
    return std::nullopt;
  }
  return st;
}

uint64_t NetlinkTracker::parent_id(uint32_t parent_tgid, uint64_t when) {
  if (const ProcessEntry* parent = table_.find(parent_tgid)) return parent->process_id;
  // Not remembered (the table was full): /proc, if provably the parent as it was at the fork.
  if (auto st = read_stat_of(parent_tgid, 0, when)) {
    return make_process_id(parent_tgid, st->start_time);
  }
  return 0;
}

void NetlinkTracker::on_fork(uint32_t parent_tgid, uint32_t child, uint64_t when) {
  // The child's name and start time (which identifies it if a later resync has to tell it from
  // another holder of the pid): a fork copies its parent's name, and the kernel takes the start
  // time just before it stamps the event, so both are known without /proc unless the parent is
  // unknown, its name may be stale (note_loss) or a tick may have begun in between; then one
  // read of /proc/PID/stat.
  std::optional<ProcessStat> st;
  uint64_t name_ns = when;
  ProcessEntry* parent = table_.find(parent_tgid);
  // The child runs as its parent did (context = "full"): read once for a parent whose ids are
  // not current (learnt before a loss, or never), so that this child and its siblings need no
  // status read at their execs.
  if (parent && context_reader_ && !ids_current(*parent)) refresh_ids(parent_tgid, *parent);
  if (parent && parent->name_ns > loss_noticed_ns_) {
    if (auto tick = clock_.certain_tick_of(when, kForkStampWindowNs)) {
      st.emplace();
      st->comm = parent->comm;
      st->start_time = *tick;
    }
  }
  std::optional<ProcessStat> unproven;
  if (!st) {
    name_ns = monotonic_ns();
    st = read_stat_of(child, 0, when, -1, &unproven);
  }
  ProcessEntry* known = table_.find(child);
  if (known) {
    if (!st || known->start_time == 0 || known->start_time == st->start_time) {
      // The same process, already listed by the initial or a resync sweep that ran while this
      // event was queued: report it once.
      if (!known->announced) {
        known->announced = true;
        ProcessRecord r = record_of(Change::kSpawned, child, *known);
        r.when_ns = when;
        r.has_parent = true;
        r.ppid = parent_tgid;
        r.parent_id = parent_id(parent_tgid, when);
        r.start_ns = known->start_ns;
        out_.report(r);
      }
      return;
    }
    // Its exit was lost (the kernel does not reuse a pid before the exit): close it first.
    out_.report(record_of(Change::kExited, child, *known));
    table_.erase(child);
  }
  ProcessEntry e;
  if (st) {
    e.comm = std::move(st->comm);
    e.name_ns = name_ns;
    e.start_time = st->start_time;
    e.process_id = make_process_id(child, st->start_time);
  } else {
    // Gone, or /proc shows another holder of the pid: whatever /proc shows for it from now on
    // is not this process, which a resync must not take it for.
    e.start_time = kStartNotSeen;
    // Nobody can read its start time any more, so nobody can derive another id for it: the
    // fork's own tick stands in (the same one, or the next: see README, process_id).
    e.process_id = make_process_id(child, clock_.tick_of(when));
    // A fork copies its parent's name. If that may be stale (learnt before a loss), the name
    // of a read that could not be proven the child's is the better guess: a pid is taken again
    // within the tick of its fork only on request (clone3's set_tid), a rename lost in a burst
    // is common. Not its start time: the identity stays unproven.
    const bool parent_current = parent && parent->name_ns > loss_noticed_ns_;
    if (unproven && !parent_current) {
      e.comm = std::move(unproven->comm);
      e.name_ns = name_ns;
    } else if (parent) {
      e.comm = parent->comm;
      e.name_ns = parent->name_ns;
    }
  }
  if (parent) {
    e.ids = parent->ids;
    e.ids_ns = parent->ids_ns;
  }
  // The kernel stamps the fork event as it wakes the new task: its start, to the nanosecond.
  e.start_ns = when;
  ProcessRecord r = record_of(Change::kSpawned, child, e);
  r.when_ns = when;
  r.has_parent = true;
  r.ppid = parent_tgid;
  r.parent_id = parent_id(parent_tgid, when);
  r.start_ns = when;
  const ProcessEntry* stored = table_.insert(child, e);  // a copy: r views e
  if (stored) r.comm = stored->comm;
  out_.report(r);
}

std::optional<std::string> NetlinkTracker::name_at_exit(uint32_t pid) {
  return exit_names_ ? exit_names_->name_at_exit(pid) : std::nullopt;
}

void NetlinkTracker::read_exec(uint32_t tgid, uint64_t recorded, Entry entry, uint64_t when,
                               ExecRead& out) {
  out.comm.reset();
  out.start_time = kStartNotSeen;
  out.start_unread = false;
  out.name_unread = false;
  out.dir.reset();
  out.raced = false;
  out.has_context = false;
  if (exit_names_ && exit_names_->exit_held(tgid)) {
    // It has exited already: /proc shows its zombie at best (no context left to read), or a
    // later holder of the pid. Its exit record, sent before /proc forgot it, names it as exec
    // left it unless it renamed itself since (rare).
    out.raced = true;
    out.comm = name_at_exit(tgid);
    return;
  }
  // context = "full": everything is read through one open /proc/PID (exec_context_reader.hpp).
  UniqueFd dir;
  if (context_reader_) {
    dir = open_pid_dir(proc_fd_, tgid);
    if (dir && read_exec_alive(dir.get(), tgid, recorded, entry, out)) {
      out.dir = std::move(dir);  // the name and ids may still be read, in the exec's turn
      return;
    }
  }
  const bool gone = context_reader_ && !dir;
  if (auto st = gone ? std::nullopt : read_stat_of(tgid, recorded, when, dir.get())) {
    out.comm = std::move(st->comm);
    out.start_time = st->start_time;
    if (context_reader_) {
      // Proven to be the process: everything read through dir is about it, or fails if it
      // has exited since (then what was read is kept, and the exec says raced).
      out.raced = !context_reader_->read(dir.get(), out.context);
      out.has_context = true;
    }
  } else {
    // Exited, and reaped, before this event was handled (and perhaps its pid reused): named
    // by its exit record if there is one.
    out.raced = true;
    out.comm = name_at_exit(tgid);
  }
}

bool NetlinkTracker::read_exec_alive(int dir_fd, uint32_t tgid, uint64_t recorded, Entry entry,
                                     ExecRead& out) {
  // No exit record for the pid, now that the directory is open: the exec's process had not
  // exited when it was opened (its record is queued before it can be reaped, and none is lost),
  // so the directory is its own. Then argv, exe and cwd first, while it lives (a /bin/true has
  // a few hundred microseconds), and the rest after.
  if (!exit_names_ || exit_names_->exit_pending(tgid)) return false;
  const bool whole = context_reader_->read(dir_fd, out.context, false);
  if (entry != Entry::kUnproven) {
    // The table vouches for the process: its start time is the table's (kCurrent) or learnt
    // when the exec's turn comes (kEarly), and so are the name (from the exit record if it has
    // exited by then) and the ids (from the table, kept by the kernel's events): no stat and
    // no status read for a process that lives a few milliseconds (issue 13).
    out.name_unread = true;
    if (entry == Entry::kCurrent) {
      out.start_time = recorded;
    } else {
      out.start_unread = true;
    }
  } else if (auto st = read_stat_at(dir_fd)) {
    if (recorded != 0 && recorded != kStartNotSeen && st->start_time != recorded) {
      out.context.clear();  // not the process the table knows by this pid: the usual path decides
      return false;
    }
    out.comm = std::move(st->comm);
    out.start_time = st->start_time;
  } else {
    out.comm = name_at_exit(tgid);  // gone since the context was read: its record names it
  }
  out.has_context = true;
  out.raced = !whole;
  return true;
}

void NetlinkTracker::complete_exec(uint32_t tgid, ProcessEntry* known, Entry entry, ExecRead& got) {
  UniqueFd dir = std::move(got.dir);  // closed on return
  if (!got.has_context) return;
  ExecContext& c = got.context;
  // The same process as the table's entry: vouched for by the table, or by its start time.
  const bool same = known && (entry == Entry::kCurrent ||
                              (known->start_time != 0 && known->start_time != kStartNotSeen &&
                               got.start_time == known->start_time));
  if (same && entry == Entry::kCurrent && ids_current(*known)) {
    // Every change since they were known has been seen, up to this exec (a set-user-ID
    // executable's change comes before the exec event): the ids it runs the new program as.
    c.ids = known->ids;
    c.has_ids = true;
  } else if (!c.has_ids && dir && context_reader_->read_ids(dir.get(), c) && same) {
    known->ids = c.ids;
    known->ids_ns = monotonic_ns();
  }
  if (!c.has_ids) got.raced = true;  // gone before its ids could be read
  if (!got.name_unread) return;
  got.name_unread = false;
  // Exited by now (the usual fate of a short-lived process): its exit record names it, held
  // already or queued (one receive, far cheaper than a /proc read). Otherwise the name read
  // now, through the directory that is its own; if it was reaped since, its record is queued.
  // A record that cannot be had (records were lost) does not stop the read.
  if (exit_names_ && exit_names_->exit_held(tgid)) got.comm = name_at_exit(tgid);
  if (!got.comm && c.has_name) got.comm = c.name;  // status was read just above
  if (!got.comm && exit_names_ && exit_names_->exit_pending(tgid)) got.comm = name_at_exit(tgid);
  if (!got.comm && dir) got.comm = read_comm_at(dir.get());
  if (!got.comm && exit_names_ && exit_names_->exit_pending(tgid)) got.comm = name_at_exit(tgid);
}

void NetlinkTracker::prefetch_exec(uint32_t tgid, uint64_t when) {
  ExecRead* slot = prefetched_.claim(tgid, when);
  if (!slot) return;  // already read for this very event
  // Its fork may not be handled yet, so what the table holds under the pid may be an older
  // process: on_exec compares start times once it is.
  read_exec(tgid, 0, Entry::kEarly, when, *slot);
}

void NetlinkTracker::on_exec(uint32_t tgid, uint64_t when) {
  ProcessEntry* known = table_.find(tgid);
  const uint64_t recorded = known ? known->start_time : 0;
  const Entry entry = known && current(*known) ? Entry::kCurrent : Entry::kUnproven;
  ExecRead* got = prefetched_.take(tgid, when);
  if (got && got->start_unread) {
    // Read early without stat: the table's entry vouches for the start time if it is current;
    // otherwise stat, provably about the exec's process if it started before the exec, and
    // then judged below like any early read. Gone by now: read again as the table's process.
    got->start_unread = false;
    if (entry == Entry::kCurrent) {
      got->start_time = recorded;
    } else if (auto st = read_stat_of(tgid, 0, when)) {
      got->start_time = st->start_time;
    } else if (known) {
      read_exec(tgid, recorded, entry, when, *got);
    }
  }
  if (!got) {
    got = &exec_read_;
    read_exec(tgid, recorded, entry, when, *got);
  } else if (known && known->start_time != 0 && known->start_time != kStartNotSeen &&
             got->start_time != kStartNotSeen && got->start_time != known->start_time) {
    // The early read was proven about a process that held the pid before the exec's tick,
    // which can only be the exec's; a start time other than the fork's says otherwise, so
    // it is not trusted: read again as the table's process (kOther: raced). A fork whose read
    // found the child gone (kStartNotSeen) has nothing to compare.
    read_exec(tgid, known->start_time, Entry::kUnproven, when, *got);
  }
  complete_exec(tgid, known, entry, *got);
  const uint64_t start_time = got->start_time;
  if (!got->comm) {
    // The exec happened, under a name that cannot be learnt: the name known from before.
    ProcessRecord r;
    r.change = Change::kExec;
    r.pid = tgid;
    r.when_ns = when;
    // Its context may have been read while it lived, its name not (gone before stat).
    r.raced = !got->has_context || got->raced;
    if (got->has_context) r.context = &got->context;
    if (known) {
      r.comm = known->comm;
      r.process_id = known->process_id;
    } else {
      r.process_id = make_process_id(tgid, clock_.tick_of(when));
    }
    out_.report(r);
    return;
  }
  if (known) {
    if (known->start_time == 0 && start_time != kStartNotSeen) known->start_time = start_time;
    known->comm = std::move(*got->comm);
    known->name_ns = when;  // read at or after it
    ProcessRecord r = record_of(Change::kExec, tgid, *known);
    r.when_ns = when;
    r.raced = got->raced;
    if (got->has_context) r.context = &got->context;
    out_.report(r);
    return;
  }
  // Not seen before (the table was full at its fork): remembered from here on if there is room.
  ProcessEntry e;
  e.comm = std::move(*got->comm);
  e.name_ns = when;
  e.start_time = start_time;
  e.process_id =
      make_process_id(tgid, start_time != kStartNotSeen ? start_time : clock_.tick_of(when));
  ProcessRecord r = record_of(Change::kExec, tgid, e);
  r.when_ns = when;
  r.raced = got->raced;
  if (got->has_context) r.context = &got->context;
  const ProcessEntry* stored = table_.insert(tgid, e);  // a copy: r views e
  if (stored) r.comm = stored->comm;
  out_.report(r);
}

void NetlinkTracker::on_comm(uint32_t tgid, std::string_view comm, uint64_t when) {
  if (ProcessEntry* known = table_.find(tgid)) {
    known->comm.assign(comm);
    known->name_ns = when;
  }
}

void NetlinkTracker::on_exit(uint32_t tgid, uint64_t when, uint32_t wait_status) {
  if (ProcessEntry* known = table_.find(tgid)) {
    // Its comm and exec events kept the name current; an exec handled too late to read /proc
    // took the kernel's exit record instead.
    ProcessRecord r = record_of(Change::kExited, tgid, *known);
    r.when_ns = when;
    r.has_status = true;
    r.wait_status = wait_status;
    add_accounting(tgid, r);
    if (!r.has_duration && known->start_ns != 0 && when >= known->start_ns) {
      r.has_duration = true;
      r.duration_ns = when - known->start_ns;
    }
    out_.report(r);
    table_.erase(tgid);
    return;
  }
  // Unknown: a process the full table could not hold (report it), or one a resync sweep
  // already closed while this event waited in the queue (do not report it twice).
  if (table_.untracked() == 0) return;
  // Its exit record names it; failing that, /proc while it is a zombie, if provably it.
  auto comm = name_at_exit(tgid);
  std::optional<ProcessStat> st = read_stat_of(tgid, 0, when);
  if (!comm && st) comm = st->comm;
  ProcessRecord r;
  r.change = Change::kExited;
  r.pid = tgid;
  r.when_ns = when;
  if (comm) r.comm = *comm;
  // Without its start time (gone and reaped), the exit's own tick stands in.
  r.process_id = make_process_id(tgid, st ? st->start_time : clock_.tick_of(when));
  r.has_status = true;
  r.wait_status = wait_status;
  add_accounting(tgid, r);
  out_.report(r);
}

void NetlinkTracker::add_accounting(uint32_t tgid, ProcessRecord& r) {
  if (!exit_names_) return;
  const auto a = exit_names_->accounting_at_exit(tgid);
  if (!a) return;
  accounting_ = *a;
  r.accounting = &accounting_;
  // The kernel's own measure of the lifetime (microseconds), from the leader's start.
  r.has_duration = true;
  r.duration_ns = a->elapsed_us * 1000;
}

}  // namespace cellos::telemetry::process
