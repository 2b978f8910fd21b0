// Telling one holder of a pid from another: what a process's start time proves about which
// process a read of /proc/PID was about.
//
// Why: the probe reads /proc/PID on behalf of a kernel event (a fork, an exec) when it handles
// the event, which may be long after it happened. By then the process may have exited and
// its pid gone to another process, and /proc/PID shows that one. Field 22 of /proc/PID/stat
// is the start time (CLOCK_BOOTTIME in clock ticks, 10 ms), and every connector event carries
// the CLOCK_MONOTONIC instant the kernel sent it. The process an event is about started at or
// before that instant; a later holder of its pid started after it (after the first one exited
// and was reaped). So a start tick before the event's tick proves the read was about the
// event's process, one after it proves it was not, and the same tick proves nothing: the
// tracker then asks the exit records (exit_names.hpp) whether that pid has exited since.
#pragma once

#include <cstdint>
#include <optional>

namespace cellos::telemetry::process {

// Converts connector timestamps (CLOCK_MONOTONIC ns) to field 22's unit.
class StartClock {
 public:
  // The running system: USER_HZ ticks of CLOCK_BOOTTIME, the offset between the two clocks
  // (time spent suspended) read afresh at each conversion.
  static StartClock system();
  // Fixed, for tests: tick = (monotonic_ns + boot_offset_ns) / ns_per_tick.
  StartClock(uint64_t boot_offset_ns, uint64_t ns_per_tick)
      : boot_offset_ns_(boot_offset_ns), ns_per_tick_(ns_per_tick) {}

  uint64_t tick_of(uint64_t monotonic_ns) const;
  // The tick of an instant known only to lie in [monotonic_ns - window_ns, monotonic_ns], when
  // the whole span falls in one tick; nullopt when a tick starts inside it. A fork event is
  // stamped a few microseconds after the kernel takes the child's start time, so this gives the
  // child's field 22 without reading /proc (see README: process_id).
  std::optional<uint64_t> certain_tick_of(uint64_t monotonic_ns, uint64_t window_ns) const;
  // The other way: the CLOCK_MONOTONIC instant a start tick began (0 if before the clock's
  // origin: a process started while the guest was suspended cannot be placed).
  uint64_t monotonic_of(uint64_t tick) const;

 private:
  uint64_t offset_ns() const;  // CLOCK_BOOTTIME - CLOCK_MONOTONIC

  uint64_t boot_offset_ns_;
  uint64_t ns_per_tick_;
  bool live_ = false;
};

enum class Identity {
  kSame,      // the read was about the event's process
  kOther,     // it was about another process
  kUnproven,  // the start time cannot tell: same tick as the event
};

// start: field 22 as read now. recorded: the start time already known for the event's process
// (proven when it was learnt), 0 when unknown. event_tick: StartClock::tick_of(the event).
Identity judge_start(uint64_t start, uint64_t recorded, uint64_t event_tick);

}  // namespace cellos::telemetry::process
