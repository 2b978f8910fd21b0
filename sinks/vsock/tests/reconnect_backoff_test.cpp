#include "reconnect_backoff.hpp"

#include <gtest/gtest.h>

#include <set>

namespace wire = cellos::telemetry::wire;

TEST(ReconnectBackoff, DoublesWithinJitterAndStaysWithinBounds) {
  for (uint64_t seed = 1; seed < 200; ++seed) {
    wire::ReconnectBackoff b(50, 5000, seed);
    EXPECT_EQ(b.next_delay_ms(), 50u);  // the first retry waits exactly the minimum
    uint64_t ceiling = 100;
    for (int i = 0; i < 20; ++i) {
      const uint64_t d = b.next_delay_ms();
      EXPECT_GE(d, std::max<uint64_t>(50, ceiling / 2));
      EXPECT_LE(d, ceiling);
      ceiling = std::min<uint64_t>(ceiling * 2, 5000);
    }
  }
}

TEST(ReconnectBackoff, JitterSpreadsGuests) {
  std::set<uint64_t> seen;
  for (uint64_t seed = 1; seed < 100; ++seed) {
    wire::ReconnectBackoff b(50, 5000, seed * 7919);
    for (int i = 0; i < 8; ++i) b.next_delay_ms();
    seen.insert(b.next_delay_ms());  // at the cap: somewhere in [2500, 5000]
  }
  EXPECT_GT(seen.size(), 50u);
}

TEST(ReconnectBackoff, ResetStartsFromTheMinimum) {
  wire::ReconnectBackoff b(50, 5000, 3);
  for (int i = 0; i < 10; ++i) b.next_delay_ms();
  b.reset();
  EXPECT_EQ(b.next_delay_ms(), 50u);
}
