#include "start_time.hpp"

#include <time.h>
#include <unistd.h>

namespace cellos::telemetry::process {
namespace {

uint64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

StartClock StartClock::system() {
  // Field 22 is nsec_to_clock_t(start_boottime): USER_HZ, which sysconf reports.
  const long hz = sysconf(_SC_CLK_TCK);
  StartClock c(0, 1000000000ull / static_cast<uint64_t>(hz > 0 ? hz : 100));
  c.live_ = true;
  return c;
}

uint64_t StartClock::offset_ns() const {
  uint64_t offset = boot_offset_ns_;
  if (live_) {
    // Boottime first, monotonic second: a pause between the two reads can only understate the
    // offset. That errs safe: an event placed in an earlier tick can make a read look like
    // another process's (a name not used), never another process's read look like its own.
    const uint64_t boot = now_ns(CLOCK_BOOTTIME);
    const uint64_t mono = now_ns(CLOCK_MONOTONIC);
    offset = boot > mono ? boot - mono : 0;
  }
  return offset;
}

uint64_t StartClock::tick_of(uint64_t monotonic_ns) const {
  return (monotonic_ns + offset_ns()) / ns_per_tick_;
}

std::optional<uint64_t> StartClock::certain_tick_of(uint64_t monotonic_ns,
                                                    uint64_t window_ns) const {
  const uint64_t boot_ns = monotonic_ns + offset_ns();
  if (boot_ns < window_ns || boot_ns % ns_per_tick_ < window_ns) return std::nullopt;
  return boot_ns / ns_per_tick_;
}

uint64_t StartClock::monotonic_of(uint64_t tick) const {
  const uint64_t boot_ns = tick * ns_per_tick_;
  const uint64_t offset = offset_ns();
  return boot_ns > offset ? boot_ns - offset : 0;
}

Identity judge_start(uint64_t start, uint64_t recorded, uint64_t event_tick) {
  if (start > event_tick) return Identity::kOther;  // started after the event happened
  if (recorded != 0 && start != recorded) return Identity::kOther;
  // A later holder of the pid started after the event, so in its tick or later.
  if (start < event_tick) return Identity::kSame;
  return Identity::kUnproven;
}

}  // namespace cellos::telemetry::process
