#include "reconnect_backoff.hpp"

#include <algorithm>

namespace cellos::telemetry::wire {

ReconnectBackoff::ReconnectBackoff(uint64_t min_ms, uint64_t max_ms, uint64_t seed)
    : min_ms_(std::max<uint64_t>(min_ms, 1)),
      max_ms_(std::max(max_ms, std::max<uint64_t>(min_ms, 1))),
      state_(seed) {}

// splitmix64: small, seedable, and good enough to spread retries.
uint64_t ReconnectBackoff::random() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t ReconnectBackoff::next_delay_ms() {
  uint64_t ceiling = min_ms_;
  for (uint32_t i = 0; i < attempt_ && ceiling < max_ms_; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_ms_);
  if (attempt_ < 64) ++attempt_;
  const uint64_t floor = std::max(min_ms_, ceiling / 2);
  return floor + random() % (ceiling - floor + 1);
}

}  // namespace cellos::telemetry::wire
