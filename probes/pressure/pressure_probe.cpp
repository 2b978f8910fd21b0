// The pressure probe: pressure.cpu|memory|io when a PSI trigger fires, and system.stats every
// stats_interval_ms. See README.md.
#include <sys/prctl.h>
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>
#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/warn_limit.hpp>

#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>

#include "proc_file.hpp"
#include "psi_trigger.hpp"
#include "system_stats.hpp"

namespace {

namespace ctt = cellos::telemetry;
namespace cpr = cellos::telemetry::pressure;

// The errors that mean "this kernel has no PSI": no /proc/pressure (CONFIG_PSI off, or
// CONFIG_PSI_DEFAULT_DISABLED booted without psi=1), or a kernel that refuses triggers.
bool psi_absent(int error) {
  return error == ENOENT || error == ENOTDIR || error == EOPNOTSUPP;
}

// One resource PSI reports on, and its trigger when it has one.
struct Resource {
  const char* name;   // "cpu": the file /proc/pressure/cpu, the options cpu_*
  const char* event;  // "pressure.cpu"
  uint64_t threshold_us = 0;
  uint64_t window_us = 0;
  std::unique_ptr<cpr::PsiTrigger> trigger;
  std::optional<cpr::OncePerWindow> gate;
  uint64_t unreadable = 0;  // firings whose figures did not parse
};

class PressureProbe final : public ctt::Probe {
 public:
  static constexpr const char* emits[] = {"pressure.cpu", "pressure.memory", "pressure.io",
                                          "system.stats", nullptr};

  PressureProbe(ctt::Host host, const ctt::Options& opts)
      : host_(host),
        proc_root_(opts.get_string("proc_root")),
        stats_interval_ns_(static_cast<uint64_t>(opts.get_int("stats_interval_ms")) * 1000000ull),
        self_pid_(static_cast<uint32_t>(getpid())) {
    resources_[0].name = "cpu";
    resources_[0].event = "pressure.cpu";
    resources_[1].name = "memory";
    resources_[1].event = "pressure.memory";
    resources_[2].name = "io";
    resources_[2].event = "pressure.io";
    for (Resource& r : resources_) {
      const std::string name = r.name;
      r.threshold_us = static_cast<uint64_t>(opts.get_int(name + "_threshold_us"));
      r.window_us = static_cast<uint64_t>(opts.get_int(name + "_window_us"));
      // The window's range is the option's; this is the one rule that spans two options.
      if (r.threshold_us > r.window_us) {
        throw std::invalid_argument(
            name + "_threshold_us = " + std::to_string(r.threshold_us) + " exceeds " + name +
            "_window_us = " + std::to_string(r.window_us) +
            ": a trigger fires when the stall time within one window reaches the threshold, so "
            "the kernel refuses a threshold longer than the window");
      }
    }
    char comm[16] = {};
    prctl(PR_GET_NAME, comm);
    self_comm_ = comm;
  }

  void start() override {
    start_triggers();
    if (stats_interval_ns_ == 0) return;
    meminfo_.emplace(proc_root_ + "/meminfo");
    loadavg_.emplace(proc_root_ + "/loadavg");
    stat_.emplace(proc_root_ + "/stat");
    uptime_.emplace(proc_root_ + "/uptime");
    // The baseline of the first interval's cpu_busy.
    cpu_before_ = cpr::parse_cpu_times(stat_->read());
    host_.arm_timer(stats_interval_ns_, stats_interval_ns_);
  }

  void stop() override {
    for (Resource& r : resources_) r.trigger.reset();
  }

  void on_fd(int fd, uint32_t events) override {
    for (Resource& r : resources_) {
      if (r.trigger && r.trigger->fd() == fd) fired(r, events);
    }
  }

  void on_timer() override { report_stats(); }

 private:
  void start_triggers() {
    std::string absent;  // the first failure that says PSI is not there
    for (Resource& r : resources_) {
      if (r.threshold_us == 0) continue;
      const std::string path = proc_root_ + "/pressure/" + r.name;
      try {
        r.trigger = std::make_unique<cpr::PsiTrigger>(path, r.threshold_us, r.window_us);
      } catch (const std::system_error& e) {
        if (psi_absent(e.code().value())) {
          absent = e.what();  // one file missing means the whole of /proc/pressure is
          break;
        }
        throw std::runtime_error(refusal(r, e));
      }
      r.gate.emplace(r.window_us * 1000);
      host_.watch_fd(r.trigger->fd(), CT_FD_PRIORITY);
    }
    if (absent.empty()) return;
    for (Resource& r : resources_) {
      if (r.trigger) host_.unwatch_fd(r.trigger->fd());
      r.trigger.reset();
    }
    host_.warn("pressure stall information unavailable (" + absent +
               "): pressure triggers off, system.stats still reported. A kernel built with "
               "CONFIG_PSI_DEFAULT_DISABLED needs psi=1 on its command line");
  }

  // Why the kernel refused a trigger, in the operator's terms.
  static std::string refusal(const Resource& r, const std::system_error& e) {
    const std::string name = r.name;
    const std::string options = name + "_threshold_us = " + std::to_string(r.threshold_us) + ", " +
                                name + "_window_us = " + std::to_string(r.window_us);
    if (e.code().value() == EINVAL && r.window_us % cpr::kUnprivilegedWindowStepUs != 0 &&
        !cpr::may_use_any_window()) {
      return std::string(e.what()) + ": " + name + "_window_us = " + std::to_string(r.window_us) +
             " is not a whole multiple of 2 s, which the kernel takes only from a process with "
             "CAP_SYS_RESOURCE, and the agent lacks it: grant it, or set " +
             name + "_window_us to 2000000 (or 4000000, 6000000, ...)";
    }
    return std::string(e.what()) + " (" + options + ")";
  }

  void fired(Resource& r, uint32_t events) {
    if ((events & CT_FD_ERROR) != 0) {
      // The kernel reports an error only for a file without a trigger: ours is gone.
      host_.unwatch_fd(r.trigger->fd());
      r.trigger.reset();
      host_.warn(std::string("the ") + r.name + " pressure trigger failed; it is off from now");
      return;
    }
    if ((events & CT_FD_PRIORITY) == 0) return;
    const uint64_t now = ctt::monotonic_ns();
    if (!r.gate->admit(now)) return;
    const auto psi = r.trigger->read();
    if (!psi) {
      if (ctt::worth_warning(++r.unreadable)) {
        host_.warn(r.trigger->path() + " does not read as PSI figures (" +
                   std::to_string(r.unreadable) + " time(s)); that firing is not reported");
      }
      return;
    }
    event_.reset(r.event, self_pid_, self_comm_, now)
        .u("some_avg10", psi->some.avg10)
        .u("some_avg60", psi->some.avg60)
        .u("full_avg10", psi->full.avg10)
        .u("some_total_us", psi->some.total_us)
        .u("full_total_us", psi->full.total_us)
        .u("threshold_us", r.threshold_us)
        .u("window_us", r.window_us);
    host_.emit(event_);
  }

  void report_stats() {
    const uint64_t now = ctt::monotonic_ns();
    const auto mem = cpr::parse_meminfo(meminfo_->read());
    const auto load = cpr::parse_loadavg(loadavg_->read());
    const auto cpu = cpr::parse_cpu_times(stat_->read());
    const auto uptime = cpr::parse_uptime_s(uptime_->read());
    const char* bad = !mem      ? "meminfo"
                      : !load   ? "loadavg"
                      : !cpu    ? "stat"
                      : !uptime ? "uptime"
                                : "";
    if (*bad != '\0') {
      if (ctt::worth_warning(++unreadable_stats_)) {
        host_.warn(proc_root_ + "/" + bad + " does not read as expected (" +
                   std::to_string(unreadable_stats_) + " time(s)); system.stats skipped");
      }
      return;
    }
    const uint64_t busy = cpu_before_ ? cpr::cpu_busy_hundredths(*cpu_before_, *cpu) : 0;
    cpu_before_ = cpu;
    event_.reset("system.stats", self_pid_, self_comm_, now)
        .u("mem_total_kib", mem->total_kib)
        .u("mem_available_kib", mem->available_kib)
        .u("load1", load->load1)
        .u("load5", load->load5)
        .u("cpu_busy", busy)
        .u("procs_running", load->running)
        .u("procs_total", load->total)
        .u("uptime_s", *uptime);
    host_.emit(event_);
  }

  ctt::Host host_;
  std::string proc_root_;
  uint64_t stats_interval_ns_;
  uint32_t self_pid_;
  std::string self_comm_;
  std::array<Resource, 3> resources_{};
  std::optional<cpr::ProcFile> meminfo_, loadavg_, stat_, uptime_;
  std::optional<cpr::CpuTimes> cpu_before_;
  uint64_t unreadable_stats_ = 0;
  ctt::EventBuilder event_;
};

constexpr ct_option_spec kOptions[] = {
    ctt::int_option("cpu_threshold_us",
                    "CPU pressure (some task waited for a CPU): stall time in microseconds within "
                    "one window that fires pressure.cpu; 0 turns the trigger off",
                    500000, 0, 10000000),
    ctt::int_option("cpu_window_us",
                    "the CPU trigger's window in microseconds (kernel: 0.5 to 10 s; a whole "
                    "multiple of 2 s without CAP_SYS_RESOURCE)",
                    1000000, 500000, 10000000),
    ctt::int_option("memory_threshold_us",
                    "memory pressure (some task waited for reclaim, refaults, swap-in): stall time "
                    "in microseconds within one window that fires pressure.memory; 0 turns it off",
                    100000, 0, 10000000),
    ctt::int_option("memory_window_us",
                    "the memory trigger's window in microseconds (kernel: 0.5 to 10 s; a whole "
                    "multiple of 2 s without CAP_SYS_RESOURCE)",
                    1000000, 500000, 10000000),
    ctt::int_option("io_threshold_us",
                    "I/O pressure (some task waited for block I/O): stall time in microseconds "
                    "within one window that fires pressure.io; 0 turns it off",
                    500000, 0, 10000000),
    ctt::int_option("io_window_us",
                    "the I/O trigger's window in microseconds (kernel: 0.5 to 10 s; a whole "
                    "multiple of 2 s without CAP_SYS_RESOURCE)",
                    1000000, 500000, 10000000),
    ctt::int_option("stats_interval_ms",
                    "how often system.stats is reported (memory, load, CPU busy, tasks, uptime); 0 "
                    "turns it off",
                    10000, 0, 86400000),
    ctt::string_option(
        "proc_root", "where procfs is mounted; for tests, which point it at a fake tree", "/proc"),
};

}  // namespace

CELLOS_TELEMETRY_PROBE(PressureProbe, "pressure", "0.1.0",
                       "pressure stalls (PSI triggers) and periodic system figures", kOptions)
