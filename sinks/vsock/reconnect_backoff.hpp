// Delays between connection attempts: exponential, capped, jittered so that many guests losing
// one host together do not come back in lockstep.
#pragma once

#include <cstdint>

namespace cellos::telemetry::wire {

class ReconnectBackoff {
 public:
  ReconnectBackoff(uint64_t min_ms, uint64_t max_ms, uint64_t seed);

  // The wait before the next attempt. Attempt n (from 0) waits a random time in
  // [max(min, d/2), d] with d = min(max, min * 2^n): the first exactly min, never above max.
  uint64_t next_delay_ms();
  // The host proved to be there: start again from the minimum.
  void reset() { attempt_ = 0; }
  uint32_t attempts() const { return attempt_; }

 private:
  uint64_t random();

  uint64_t min_ms_, max_ms_;
  uint64_t state_;
  uint32_t attempt_ = 0;
};

}  // namespace cellos::telemetry::wire
