#include "sink_queue.hpp"

#include <gtest/gtest.h>

namespace ct = cellos::telemetry;

namespace {

ct::OwnedEvent ev(uint32_t pid) {
  ct::OwnedEvent e;
  e.probe_source = "process.spawned";
  e.guest_pid = pid;
  return e;
}

TEST(SinkQueue, DropsTheOldestWhenFullAndCountsThem) {
  ct::SinkQueue q(3);
  for (uint32_t i = 1; i <= 5; ++i) q.push(ev(i));
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q.at(0).guest_pid, 3u);
  EXPECT_EQ(q.at(2).guest_pid, 5u);
  EXPECT_EQ(q.unreported_drops(), 2u);
  q.mark_drops_reported();
  EXPECT_EQ(q.unreported_drops(), 0u);
  EXPECT_EQ(q.total_drops(), 2u);
}

TEST(SinkQueue, PopRemovesFromTheFront) {
  ct::SinkQueue q(10);
  for (uint32_t i = 1; i <= 4; ++i) q.push(ev(i));
  q.pop(3);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q.at(0).guest_pid, 4u);
  q.pop(5);
  EXPECT_TRUE(q.empty());
}

TEST(SourceMatcher, GlobsSelectBySource) {
  const ct::SourceMatcher m({"process.*", "agent.heartbeat"});
  EXPECT_TRUE(m.matches("process.spawned"));
  EXPECT_TRUE(m.matches("agent.heartbeat"));
  EXPECT_FALSE(m.matches("telemetry.dropped"));
  EXPECT_FALSE(m.matches("processes"));
  EXPECT_TRUE(ct::SourceMatcher({"*"}).matches("anything.at.all"));
}

}  // namespace

namespace {

TEST(SinkQueue, KeepsAnExactAccount) {
  ct::SinkQueue q(2);
  for (uint32_t i = 1; i <= 5; ++i) q.push(ev(i));  // 3 dropped
  q.pop(1);                                         // 1 taken
  EXPECT_EQ(q.total_pushed(), 5u);
  EXPECT_EQ(q.total_taken() + q.total_drops() + q.size(), q.total_pushed());
  q.discard_all();  // a disabled sink loses what it held
  EXPECT_EQ(q.total_drops(), 4u);
  EXPECT_EQ(q.total_taken() + q.total_drops() + q.size(), q.total_pushed());
}

}  // namespace
