// The process probe: process.spawned / process.exec / process.exited from the kernel's process
// connector, or from polling /proc where the connector is not available. See README.md.
#include <sys/wait.h>
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>
#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/warn_limit.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "exec_context.hpp"
#include "exec_context_reader.hpp"
#include "exec_trigger.hpp"
#include "exec_workers.hpp"
#include "exit_accounting.hpp"
#include "netlink_tracker.hpp"
#include "proc_connector.hpp"
#include "proc_stat.hpp"
#include "process_table.hpp"
#include "procfs_walker.hpp"
#include "taskstats_exits.hpp"
#include "wakeup_priority.hpp"

namespace {

namespace ctt = cellos::telemetry;
namespace cp = cellos::telemetry::process;

// One wake-up handles at most this many kernel events before the loop serves sinks again (the
// fd stays readable, so the loop comes straight back). With the ledger an event may cost /proc
// reads: 4,096 of them took 10 s in an ASan build under load, over call_time_limit_ms, and the
// probe was disabled; 256 keep a wake-up short even there.
constexpr size_t kMaxEventsPerWake = 256;

// Reads on the timer that find nothing before the probe watches the socket again (idle).
constexpr unsigned kEmptyReadsBeforeIdle = 8;

class ProcessProbe final : public ctt::Probe, private cp::Reporter {
 public:
  static constexpr const char* emits[] = {"process.spawned", "process.exec", "process.exited",
                                          "process.lost", nullptr};

  ProcessProbe(ctt::Host host, const ctt::Options& opts)
      : host_(host),
        method_(opts.get_string("method")),
        interval_ns_(static_cast<uint64_t>(opts.get_int("interval_ms")) * 1000000ull),
        emit_initial_(opts.get_bool("emit_initial")),
        busy_read_ns_(static_cast<uint64_t>(opts.get_int("busy_read_interval_us")) * 1000),
        full_context_(opts.get_string("context") == "full"),
        wakeup_priority_(opts.get_string("wakeup_priority")),
        context_reader_(static_cast<size_t>(opts.get_int("argv_max_bytes"))),
        receive_buffer_(static_cast<size_t>(opts.get_int("receive_buffer_kib")) * 1024),
        table_(static_cast<size_t>(opts.get_int("max_processes"))),
        walker_(opts.get_string("proc_root"), table_),
        self_pid_(static_cast<uint32_t>(getpid())),
        self_comm_(
            cp::read_process_comm(walker_.root_fd(), self_pid_).value_or("cellos-telemetr")) {
    if (full_context_) walker_.set_context_reader(&context_reader_);
  }

  // The readers use the tracker and the exit records: stopped first, whether or not stop() came.
  ~ProcessProbe() override { workers_.reset(); }

  void start() override {
    if (method_ != "procfs" && start_netlink()) return;
    start_procfs();
  }

  void stop() override {
    workers_.reset();  // joined before what they use goes
    priority_.reset();
    trigger_.reset();
    connector_.reset();
    exit_names_.reset();
  }

  void on_timer() override {
    const auto held = hold();
    if (!connector_) {
      sweep(true);
      return;
    }
    // Coalescing: the queue read on the timer while busy; a few reads in a row that find
    // nothing mean idle again. Not the first: a process every millisecond or so (a shell
    // script's pace) leaves some ticks empty, and watching the socket again for each of those
    // cost two wake-ups per process instead of one.
    if (drain_connector() > 0) {
      empty_reads_ = 0;
    } else if (++empty_reads_ >= kEmptyReadsBeforeIdle) {
      stop_coalescing();
    }
  }

  // A new VM generation (snapshot restored, clone): what changed while the VM was a snapshot
  // was never seen; /proc says what is there now (the tracker tolerates queued events about
  // processes the sweep already listed, as after a loss).
  void resync() override {
    const auto held = hold();
    if (exit_names_) exit_names_->clear();
    resyncing_ = true;  // what it finds says resync = true, as after a loss
    sweep(true);
    resyncing_ = false;
  }

  void on_fd(int fd, uint32_t /*events*/) override {
    const auto held = hold();
    if (trigger_ && fd == trigger_->fd()) {
      read_execs_early();
      return;
    }
    if (!connector_) return;
    // Busy: from now on the queue is read every busy_read_interval_us rather than woken for at
    // each event (a process costs two or three events: wake-ups are most of what the probe
    // costs). The timer turns it back after kEmptyReadsBeforeIdle reads find nothing.
    if (drain_connector() > 0 && busy_read_ns_ > 0) start_coalescing();
  }

 private:
  // The probe's state, shared with the per-CPU exec readers while they run (exec_workers.hpp).
  std::unique_lock<std::mutex> hold() {
    return workers_ ? std::unique_lock<std::mutex>(mu_) : std::unique_lock<std::mutex>();
  }

  void start_coalescing() {
    empty_reads_ = 0;
    if (coalescing_) return;
    host_.unwatch_fd(connector_->fd());
    host_.arm_timer(busy_read_ns_, busy_read_ns_);
    coalescing_ = true;
  }

  void stop_coalescing() {
    coalescing_ = false;
    host_.arm_timer(0, 0);
    // Level-triggered: an event queued since the last read wakes the loop straight away.
    host_.watch_fd(connector_->fd(), CT_FD_READ);
  }

  // An exec's context is read as soon as the exec is known, before the process can exit; the
  // event itself is handled in its turn, from the main queue, and takes what was read.
  void read_execs_early() {
    if (workers_) {
      workers_->drain_all();
      return;
    }
    trigger_->drain([this](uint32_t tgid, uint64_t when) { tracker_->prefetch_exec(tgid, when); },
                    kMaxEventsPerWake);
  }

  // Reads the connector's queue (up to kMaxEventsPerWake events); the number of messages.
  size_t drain_connector() {
    // Execs the trigger holds first: their events may be in this batch (both fds were ready).
    if (trigger_ || workers_) read_execs_early();
    // EPOLLERR here only means a pending ENOBUFS, which the drain reads and accounts for.
    const auto d = connector_->drain(
        [this](const cp::ProcEvent& e) { tracker_->handle(e); },
        [this](std::span<const cp::ProcEvent> batch) { before_batch(batch); }, kMaxEventsPerWake);
    // ENOBUFS says events were lost; the sequence gaps say how many, once each CPU's next message
    // arrives (possibly a drain later). Either one calls for a resync.
    if (d.overflowed) overflowed_ = true;
    lost_pending_ += d.lost;
    if (d.overflowed || d.lost > 0) loss_pending_ = true;
    // The sweep waits until the queue is empty: events still queued would otherwise be
    // applied on top of a newer picture of /proc.
    if (loss_pending_ && d.emptied) recover_from_loss();
    // Every event queued before exit records were lost has now been handled.
    if (exit_names_ && d.emptied) exit_names_->settle();
    warn_if_untracked();
    warn_about_exit_records();
    return d.events;
  }

  bool start_netlink() {
    try {
      connector_ = std::make_unique<cp::ProcConnector>(receive_buffer_);
    } catch (const std::system_error& e) {
      if (method_ == "netlink")
        throw std::runtime_error(std::string("method = \"netlink\": ") + e.what());
      host_.warn(std::string("netlink unavailable (") + e.what() +
                 "); method = \"auto\" falls back to polling /proc every " +
                 std::to_string(interval_ns_ / 1000000) +
                 " ms, which misses processes that live shorter than that and reports no exec");
      return false;
    }
    try {
      exit_names_ = std::make_unique<cp::TaskstatsExits>(receive_buffer_);
    } catch (const std::system_error& e) {
      host_.warn(std::string("no names at exit (") + e.what() +
                 "); a process that exits before its exec event is handled is reported "
                 "under the name it had before exec");
    }
    cp::Reporter& reporter = *this;  // a private base: converted here, where it is accessible
    walker_.set_exit_events(true);
    tracker_ = std::make_unique<cp::NetlinkTracker>(walker_.root_fd(), table_, reporter,
                                                    exit_names_.get());
    if (full_context_) tracker_->set_context_reader(&context_reader_);
    if (connector_->receive_buffer() < receive_buffer_) {
      host_.warn("netlink receive queue limited to " +
                 std::to_string(connector_->receive_buffer() / 1024) + " KiB of the " +
                 std::to_string(receive_buffer_ / 1024) +
                 " KiB asked (no CAP_NET_ADMIN for SO_RCVBUFFORCE, and net.core.rmem_max is "
                 "lower); bursts overflow sooner");
    }
    // Subscribed first, listed second: a process born in between is both in the listing and
    // in the queue, and the tracker reports it once; none can fall between the two.
    sweep(emit_initial_, emit_initial_);
    host_.watch_fd(connector_->fd(), CT_FD_READ);
    // Last: from here on the readers share the probe's state, under hold().
    if (full_context_) start_exec_readers();
    return true;
  }

  // context = "full": what reads an exec's context the moment it is known. A thread per CPU
  // (exec_workers.hpp), else one socket watched by the agent's thread at the priority asked.
  void start_exec_readers() {
    const cp::WakeupPriority priority = wakeup_priority_ == "realtime"
                                            ? cp::WakeupPriority::kRealtime
                                        : wakeup_priority_ == "slice" ? cp::WakeupPriority::kSlice
                                                                      : cp::WakeupPriority::kNormal;
    const auto refused = [this](const std::string& why) {
      host_.warn("wakeup_priority = \"" + wakeup_priority_ + "\": " + why +
                 "; more short-lived processes are gone before their exec context is read");
    };
    if (const auto cpus = cp::ExecWorkers::every_cpu()) {
      try {
        workers_ = std::make_unique<cp::ExecWorkers>(
            *cpus, mu_,
            [this](uint32_t tgid, uint64_t when) { tracker_->prefetch_exec(tgid, when); }, priority,
            kMaxEventsPerWake);
        if (!workers_->fallback().empty()) refused(workers_->fallback());
        return;
      } catch (const std::system_error& e) {
        host_.warn(std::string("no exec reader per CPU (") + e.what() +
                   "): one reader, woken on whichever CPU it last ran on");
      }
    } else {
      host_.warn(
          "the agent may not run on every online CPU (affinity or cpuset): one exec reader, "
          "woken on whichever CPU it last ran on, instead of one per CPU");
    }
    try {
      trigger_ = std::make_unique<cp::ExecTrigger>();
    } catch (const std::system_error& e) {
      host_.warn(std::string("no early exec reads (") + e.what() +
                 "): each exec's context is read when its turn in the queue comes, and more "
                 "short-lived processes are gone by then (raced = true)");
      return;
    }
    host_.watch_fd(trigger_->fd(), CT_FD_READ);
    if (priority != cp::WakeupPriority::kNormal) {
      priority_ = std::make_unique<cp::WakeupPriorityScope>(priority);
      if (!priority_->fallback().empty()) refused(priority_->fallback());
    }
  }

  void start_procfs() {
    sweep(emit_initial_, emit_initial_);
    host_.arm_timer(interval_ns_, interval_ns_);
  }

  void sweep(bool report, bool initial = false) {
    const auto r = walker_.sweep(*this, report, initial);
    if (r.error != 0) {
      if (ctt::worth_warning(++failed_sweeps_)) {
        host_.warn("listing /proc failed (" + std::system_category().message(r.error) + ", " +
                   std::to_string(failed_sweeps_) + " time(s)); retrying");
      }
    }
    warn_if_untracked();
  }

  void recover_from_loss() {
    loss_pending_ = false;
    const uint64_t lost = std::exchange(lost_pending_, 0);
    const bool overflowed = std::exchange(overflowed_, false);
    // process.lost, not the core's telemetry.dropped: a reader tells kernel-side loss from the
    // agent's queue loss by probe_source alone. Only with a count: losses after the last message
    // from a CPU are counted when its next one arrives, and another process.lost (and resync)
    // follows then, so the lost_count of all process.lost events adds up to the exact total.
    if (lost > 0) {
      const ct_extra extra = ctt::uint_extra("lost_count", lost);
      host_.emit(ct_event{sizeof(ct_event), "process.lost", self_pid_, self_comm_.c_str(),
                          ctt::monotonic_ns(), &extra, 1});
    }
    if (ctt::worth_warning(++losses_)) {
      host_.warn(std::string(overflowed ? "netlink receive queue overflowed"
                                        : "kernel process events missing (sequence gap)") +
                 " (" + std::to_string(losses_) + " time(s) so far, " + std::to_string(lost) +
                 " event(s) counted lost this time, " + std::to_string(connector_->gaps().lost()) +
                 " in all); resynchronising from /proc. A larger receive_buffer_kib absorbs "
                 "longer bursts");
    }
    // Exits whose events were lost left their names behind; a later holder of the pid must not
    // inherit one.
    if (exit_names_) exit_names_->clear();
    connector_->clear_loss_seen();
    // The sweep re-reads no name it knows: names from before it stay untrusted for forks.
    tracker_->note_loss(ctt::monotonic_ns());
    // What the sweep finds (processes that appeared or vanished in the gap) says resync = true.
    resyncing_ = true;
    sweep(true);
    resyncing_ = false;
    // Losses after a CPU's last message are counted when its next one comes: asked for now, so
    // that the process.lost events of this loss add up to the kernel's count at the next drain.
    connector_->ask_every_cpu();
  }

  // Before each batch of kernel events is handled. A loss seen in reading it (or earlier,
  // not yet resynchronised) tells the tracker not to trust names copied from parents.
  // Every task exit queues a taskstats record before its connector event. Reading them before
  // each batch that holds exits keeps that queue short (so no record is dropped for want of
  // room) and has each record held by the time its exit is handled, in one read per batch.
  void before_batch(std::span<const cp::ProcEvent> batch) {
    if (connector_->loss_seen()) tracker_->note_loss(ctt::monotonic_ns());
    if (!exit_names_) return;
    for (const cp::ProcEvent& e : batch) {
      if (e.kind == cp::ProcEvent::Kind::kExit) {
        exit_names_->refresh();
        return;
      }
    }
  }

  // Each kind of trouble with exit records, on its 1st, 2nd, 4th... occurrence.
  void warn_about_exit_records() {
    if (!exit_names_) return;
    const auto warn = [this](uint64_t now, uint64_t& seen, uint64_t& warnings,
                             const std::string& what) {
      if (now == seen) return;
      seen = now;
      if (ctt::worth_warning(++warnings))
        host_.warn(what + " (" + std::to_string(now) + " so far)");
    };
    warn(exit_names_->losses(), exit_losses_seen_, exit_loss_warnings_,
         "taskstats exit records lost to a full receive queue: until the probe catches up, an "
         "exec handled after its process is gone carries the name from before the exec");
    warn(exit_names_->truncated(), truncated_seen_, truncated_warnings_,
         "taskstats exit records larger than the " +
             std::to_string(cp::TaskstatsExits::kSlotBytes) +
             "-byte receive slot (a newer kernel's record layout) were dropped");
    warn(exit_names_->evicted(), evicted_seen_, evicted_warnings_,
         "taskstats exit records dropped from a full store before their exits were handled");
  }

  void warn_if_untracked() {
    if (table_.untracked() == untracked_warned_) return;
    untracked_warned_ = table_.untracked();
    if (ctt::worth_warning(++untracked_warnings_)) {
      host_.warn("more live processes than max_processes = " + std::to_string(table_.capacity()) +
                 "; " + std::to_string(untracked_warned_) +
                 " sighting(s) so far could not be remembered: netlink may lose their names "
                 "at exit, procfs does not report them");
    }
  }

  // The record as an event: the five wire keys, then the ledger's extras (README: every key).
  void report(const cp::ProcessRecord& r) override {
    // A kernel event's own time, not when the probe read it (up to busy_read_interval_us
    // later): the exec happened then.
    event_.reset(cp::probe_source(r.change), r.pid, cp::wire_comm(r.comm),
                 r.when_ns != 0 ? r.when_ns : ctt::monotonic_ns());
    event_.u("process_id", r.process_id);
    if (r.has_parent) {
      event_.u("ppid", r.ppid);
      if (r.parent_id != 0) event_.u("parent_id", r.parent_id);
    }
    if (r.start_ns != 0) event_.u("start_ns", r.start_ns);
    if (r.initial) event_.b("initial", true);
    if (r.context) add_context(*r.context);
    if (r.raced) event_.b("raced", true);
    if (r.has_status) add_status(r.wait_status);
    if (r.has_duration) event_.u("duration_ns", r.duration_ns);
    if (r.accounting) {
      const cp::ExitAccounting& a = *r.accounting;
      event_.u("cpu_user_us", a.cpu_user_us)
          .u("cpu_system_us", a.cpu_system_us)
          .u("max_rss_kib", a.max_rss_kib)
          .u("read_bytes", a.read_bytes)
          .u("write_bytes", a.write_bytes);
    }
    if (r.resync || resyncing_) event_.b("resync", true);
    host_.emit(event_);
  }

  void add_context(const cp::ExecContext& c) {
    if (c.has_exe) event_.text("exe", c.exe);
    if (c.has_argv) {
      event_.list("argv", c.argv);
      if (c.argv_truncated) event_.b("argv_truncated", true);
    }
    if (c.has_cwd) event_.text("cwd", c.cwd);
    if (c.has_ids) {
      event_.u("uid", c.ids.uid).u("euid", c.ids.euid).u("gid", c.ids.gid).u("egid", c.ids.egid);
    }
  }

  // The wait status as waitpid(2) would give it: a normal exit's code, or the killing signal
  // and whether it dumped core.
  void add_status(uint32_t status) {
    const int st = static_cast<int>(status);
    if (WIFSIGNALED(st)) {
      event_.u("signal", static_cast<uint64_t>(WTERMSIG(st))).b("core_dumped", WCOREDUMP(st));
    } else {
      event_.u("exit_code", static_cast<uint64_t>(WEXITSTATUS(st)));
    }
  }

  ctt::Host host_;
  std::string method_;
  uint64_t interval_ns_;
  bool emit_initial_;
  uint64_t busy_read_ns_;
  bool full_context_;
  std::string wakeup_priority_;
  cp::ExecContextReader context_reader_;
  size_t receive_buffer_;
  cp::ProcessTable table_;
  cp::ProcfsWalker walker_;
  uint32_t self_pid_;
  std::string self_comm_;
  bool coalescing_ = false;   // the queue is read on the timer, not watched
  unsigned empty_reads_ = 0;  // timer reads in a row that found nothing
  std::unique_ptr<cp::ProcConnector> connector_;
  std::unique_ptr<cp::ExecTrigger> trigger_;  // one exec reader: the agent's thread
  std::mutex mu_;                             // with workers_: the state below, shared
  std::unique_ptr<cp::ExecWorkers> workers_;  // one exec reader per CPU
  std::unique_ptr<cp::WakeupPriorityScope> priority_;
  std::unique_ptr<cp::TaskstatsExits> exit_names_;
  std::unique_ptr<cp::NetlinkTracker> tracker_;
  ctt::EventBuilder event_;  // reused: one event at a time, memory kept between them
  uint64_t exit_losses_seen_ = 0, exit_loss_warnings_ = 0;
  uint64_t truncated_seen_ = 0, truncated_warnings_ = 0;
  uint64_t evicted_seen_ = 0, evicted_warnings_ = 0;
  bool loss_pending_ = false;
  bool overflowed_ = false;    // ENOBUFS since the last resync
  uint64_t lost_pending_ = 0;  // counted (sequence gaps) since the last process.lost
  bool resyncing_ = false;     // a sweep after loss is reporting
  uint64_t losses_ = 0;
  uint64_t failed_sweeps_ = 0;
  uint64_t untracked_warned_ = 0;
  uint64_t untracked_warnings_ = 0;
};

const char* const kMethods[] = {"auto", "netlink", "procfs", nullptr};
const char* const kContexts[] = {"full", "minimal", nullptr};
const char* const kPriorities[] = {"realtime", "slice", "normal", nullptr};

constexpr ct_option_spec kOptions[] = {
    ctt::string_option("method",
                       "where events come from: \"netlink\" (the kernel's process connector: "
                       "every process, exec included; start-up fails if it is unavailable), "
                       "\"procfs\" (polling /proc: only processes alive at a sweep, no exec), or "
                       "\"auto\" (netlink, else procfs with one warning saying why)",
                       "auto", kMethods),
    ctt::int_option("interval_ms", "procfs: how often /proc is listed", 100, 1, 3600000),
    ctt::bool_option("emit_initial",
                     "report the processes already running at start as process.spawned with "
                     "initial = true (and their exec context, with context = \"full\")",
                     true),
    ctt::string_option("context",
                       "what process.exec carries: \"full\" (exe, argv, cwd and ids, read from "
                       "/proc/PID at the exec) or \"minimal\" (only the name: no reads beyond it)",
                       "full", kContexts),
    ctt::string_option("wakeup_priority",
                       "context = \"full\": how the exec readers (a thread per CPU) are "
                       "scheduled, so that they read an exec's context before a short-lived "
                       "process exits: "
                       "\"realtime\" (SCHED_FIFO 1, needs CAP_SYS_NICE, else as \"slice\"), "
                       "\"slice\" (a 100 us EEVDF slice: preempts sooner, same CPU share) or "
                       "\"normal\"",
                       "realtime", kPriorities),
    ctt::int_option("argv_max_bytes",
                    "most bytes of argv an event carries, counted as /proc/PID/cmdline counts "
                    "them (each argument and its NUL); a longer one is cut and says "
                    "argv_truncated = true",
                    1024, 0, 2048),
    ctt::int_option("busy_read_interval_us",
                    "netlink: while events keep coming, read them this often (microseconds) "
                    "instead of waking for each one, which is most of the probe's cost; they "
                    "are reported that much later at most. 0: wake for every event",
                    2000, 0, 100000),
    ctt::int_option("receive_buffer_kib",
                    "netlink: how much the kernel may queue for the agent (about 0.8 KiB per "
                    "event) before it drops events and the probe resynchronises from /proc; "
                    "a limit, not an allocation",
                    4096, 1, 1048576),
    ctt::int_option("max_processes",
                    "most live processes remembered at once (about 100 bytes each); beyond it, "
                    "netlink still reports new processes but may lose their names at exit, and "
                    "procfs does not see them (a warning says so)",
                    32768, 16, 4194304),
    ctt::string_option(
        "proc_root", "where procfs is mounted; for tests, which point it at a fake tree", "/proc"),
};

}  // namespace

CELLOS_TELEMETRY_PROBE(ProcessProbe, "process", "0.2.0",
                       "processes spawned, exec'd and exited (netlink process connector or /proc)",
                       kOptions)
