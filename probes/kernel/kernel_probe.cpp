// The kernel probe: kernel.* events from the kernel's own log, /dev/kmsg. See README.md.
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>
#include <cellos/telemetry/first_line.hpp>
#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/warn_limit.hpp>

#include <memory>
#include <string>

#include "kernel_events.hpp"
#include "kmsg_reader.hpp"
#include "kmsg_record.hpp"

namespace {

namespace ctt = cellos::telemetry;
namespace ck = cellos::telemetry::kernel;

// One wake-up reads at most this many records before the loop serves sinks again (the fd stays
// readable, so the loop comes straight back).
constexpr size_t kMaxRecordsPerWake = 1024;

std::string own_comm() {
  const std::string comm = ctt::first_line("/proc/self/comm");
  return comm.empty() ? "cellos-telemetr" : comm;
}

ck::KernelEventsConfig events_config(const ctt::Options& opts) {
  ck::KernelEventsConfig c;
  c.min_level = static_cast<uint32_t>(opts.get_int("min_level"));
  c.log_burst = static_cast<uint64_t>(opts.get_int("log_burst"));
  c.log_window_ns = static_cast<uint64_t>(opts.get_int("log_interval_ms")) * 1000000ull;
  c.self_pid = static_cast<uint32_t>(getpid());
  c.self_comm = own_comm();
  return c;
}

class KernelProbe final : public ctt::Probe {
 public:
  static constexpr const char* emits[] = {
      "kernel.oom_kill", "kernel.segfault", "kernel.trap", "kernel.hung_task",
      "kernel.warning",  "kernel.log",      "kernel.lost", nullptr};

  KernelProbe(ctt::Host host, const ctt::Options& opts)
      : host_(host),
        path_(opts.get_string("path")),
        replay_(opts.get_bool("replay")),
        events_(events_config(opts), [this](const ctt::EventBuilder& b) { host_.emit(b); }) {}

  void start() override {
    reader_ = std::make_unique<ck::KmsgReader>(path_, replay_);
    host_.watch_fd(reader_->fd(), CT_FD_READ);
  }

  void stop() override { reader_.reset(); }

  void on_fd(int /*fd*/, uint32_t /*events*/) override {
    // POLLERR from the device means the position was overwritten: the read says EPIPE.
    if (!reader_) return;
    reader_->drain([this](std::string_view read) { handle(read); },
                   [this] { events_.overwritten(); }, kMaxRecordsPerWake);
    arm_report();
  }

  void on_timer() override {
    armed_for_ = 0;
    const auto due = events_.report_due();
    if (due && *due <= ctt::monotonic_ns()) events_.report_suppressed(ctt::monotonic_ns());
    arm_report();
  }

 private:
  void handle(std::string_view read) {
    const auto record = ck::parse_kmsg_record(read);
    if (!record) {
      if (ctt::worth_warning(++unparsed_)) {
        host_.warn("a record from " + path_ + " is not in the /dev/kmsg format (" +
                   std::to_string(unparsed_) + " so far); skipped");
      }
      return;
    }
    events_.handle(*record, ctt::monotonic_ns());
  }

  // The timer runs only while kernel.log records wait to be reported: idle, nothing wakes.
  void arm_report() {
    const auto due = events_.report_due();
    if (!due || *due == armed_for_) return;
    const uint64_t now = ctt::monotonic_ns();
    host_.arm_timer(*due > now ? *due - now : 1, 0);
    armed_for_ = *due;
  }

  ctt::Host host_;
  std::string path_;
  bool replay_;
  ck::KernelEvents events_;
  std::unique_ptr<ck::KmsgReader> reader_;
  uint64_t unparsed_ = 0;
  uint64_t armed_for_ = 0;
};

constexpr ct_option_spec kOptions[] = {
    ctt::bool_option("replay",
                     "report the records already in the kernel's ring at start (the agent "
                     "starts at boot, so these are the boot's); false starts at the end",
                     false),
    ctt::int_option("min_level",
                    "kernel.log for kernel records of this syslog level or more severe (0 "
                    "emerg, 3 err, 4 warning, 7 debug); the records with events of their own "
                    "are reported whatever their level",
                    3, 0, 7),
    ctt::int_option("log_burst",
                    "most kernel.log events per log_interval_ms; the ones over it are counted "
                    "in the next one's suppressed",
                    10, 1, 100000),
    ctt::int_option("log_interval_ms", "the window of log_burst", 60000, 1, 86400000),
    ctt::string_option("path", "the kernel log device; for tests, which may point it elsewhere",
                       "/dev/kmsg"),
};

}  // namespace

CELLOS_TELEMETRY_PROBE(KernelProbe, "kernel", "0.1.0",
                       "the kernel's log as events: OOM kills, segfaults, traps, hung tasks, "
                       "warnings (/dev/kmsg)",
                       kOptions)
