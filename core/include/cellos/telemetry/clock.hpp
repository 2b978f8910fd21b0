// The clock of guest_monotonic_ns: CLOCK_MONOTONIC in nanoseconds. Every event's timestamp and
// every timer the host arms count on this clock, so probes stamp events with it and nothing else.
#pragma once

#include <time.h>

#include <cstdint>

namespace cellos::telemetry {

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace cellos::telemetry
