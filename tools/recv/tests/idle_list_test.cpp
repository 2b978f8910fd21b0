#include "idle_list.hpp"

#include <gtest/gtest.h>

namespace recv = cellos::telemetry::recv;
using namespace std::chrono_literals;
using Clock = recv::IdleList::Clock;

namespace {

TEST(IdleList, OldestFirstAndTouchingMovesToTheBack) {
  recv::IdleList idle(10s);
  const Clock::time_point t0{};
  idle.add(3, t0);
  idle.add(4, t0 + 1s);
  idle.add(5, t0 + 2s);
  EXPECT_EQ(idle.until_next(t0 + 5s), 5s);
  idle.touch(3, t0 + 6s);  // 4 is the oldest now
  EXPECT_EQ(idle.until_next(t0 + 6s), 5s);
  EXPECT_TRUE(idle.take_expired(t0 + 10s).empty());
  EXPECT_EQ(idle.take_expired(t0 + 12s), (std::vector<int>{4, 5}));
  EXPECT_EQ(idle.until_next(t0 + 12s), 4s);
  idle.remove(3);
  EXPECT_FALSE(idle.until_next(t0 + 12s).has_value());
  EXPECT_TRUE(idle.take_expired(t0 + 100s).empty());
}

TEST(IdleList, PausedTimeIsNotIdleTime) {
  recv::IdleList idle(10s);
  const Clock::time_point t0{};
  idle.add(7, t0);
  idle.pause(t0 + 8s);
  EXPECT_FALSE(idle.until_next(t0 + 30s).has_value());
  EXPECT_TRUE(idle.take_expired(t0 + 30s).empty());
  idle.resume(t0 + 30s);  // 22 s paused: 8 s idle so far
  EXPECT_EQ(idle.until_next(t0 + 30s), 2s);
  EXPECT_TRUE(idle.take_expired(t0 + 31s).empty());
  EXPECT_EQ(idle.take_expired(t0 + 32s), (std::vector<int>{7}));
}

TEST(IdleList, ZeroTimeoutNeverExpires) {
  recv::IdleList idle(0s);
  idle.add(1, Clock::time_point{});
  EXPECT_FALSE(idle.until_next(Clock::time_point{} + 1000h).has_value());
  EXPECT_TRUE(idle.take_expired(Clock::time_point{} + 1000h).empty());
}

}  // namespace
