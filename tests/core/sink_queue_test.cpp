#include "sink_queue.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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

// host_emit hands the bus the lengths its checks measured; the record must be the one the
// queue measures by itself, byte for byte (pointers aside), repaired comm included.
TEST(SinkQueue, RecordBuiltWithGivenLengthsIsTheRecordMeasuredByItself) {
  for (const char* comm : {"", "sh", "worker", "kworker/0:1H-ev", "bad\xff\xfe"}) {
    const ct_event e{sizeof(ct_event), "process.spawned", 7, comm, 99, nullptr, 0};
    ct::SinkQueue measured(4), given(4);
    ct::RecordBuilder builder;
    const ct::TextLengths lengths{std::strlen(e.probe_source), std::strlen(comm)};
    const ct::RecordHeader* a = measured.push(e);
    const ct::RecordHeader* b = given.push(e, builder, &lengths);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    ASSERT_EQ(a->size, b->size) << comm;
    EXPECT_STREQ(a->event.guest_comm, b->event.guest_comm);
    EXPECT_STREQ(b->event.probe_source, "process.spawned");
    // The strings and the padding after the header (the pointers in it differ).
    EXPECT_EQ(std::memcmp(a + 1, b + 1, a->size - sizeof(ct::RecordHeader)), 0) << comm;
    // And the header's other fields: an ASCII comm with given lengths takes the plain record's
    // path (write_plain_record), which must build what measure and write build.
    EXPECT_EQ(a->n_texts, b->n_texts);
    EXPECT_EQ(a->event.struct_size, b->event.struct_size);
    EXPECT_EQ(a->event.guest_pid, b->event.guest_pid);
    EXPECT_EQ(a->event.guest_monotonic_ns, b->event.guest_monotonic_ns);
    EXPECT_EQ(a->event.extras, b->event.extras);
    EXPECT_EQ(a->event.n_extras, b->event.n_extras);
    EXPECT_EQ(b->event.probe_source, reinterpret_cast<const char*>(b + 1));
    EXPECT_EQ(b->event.guest_comm, b->event.probe_source + std::strlen(b->event.probe_source) + 1);
  }
}

// pop(n) pops a batch in one walk: across the ring's end, it must leave the queue as n pops
// of one would, and the ring must take records where they fit afterwards.
TEST(SinkQueue, PoppingBatchesAcrossTheRingsEndKeepsTheRestInOrder) {
  ct::SinkQueue q(1000, 4096);  // one page: a few dozen records
  uint32_t next = 1, front = 1;
  for (int round = 0; round < 50; ++round) {
    while (q.bytes() + 256 < q.capacity_bytes()) q.push(ev(next++));
    const size_t n = q.size() / 2 + round % 3;
    q.pop(n);
    front += static_cast<uint32_t>(n);
    ASSERT_EQ(q.size(), next - front) << round;
    ASSERT_EQ(q.at(0).guest_pid, front) << round;
    ASSERT_EQ(q.at(q.size() - 1).guest_pid, next - 1) << round;
  }
  EXPECT_EQ(q.total_drops(), 0u);
  q.pop(q.size());
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

// The same as the bus pops: front() first, perhaps pushes meanwhile (a sink's consume may not
// route, but the next route comes before the next front), then a pop of what front() gave or
// fewer. Whatever the walk passed (the ring's end, a wrap made by a push after it), the queue
// must be what popping one by one leaves.
TEST(SinkQueue, PoppingWhatFrontWalkedLeavesWhatPoppingOneByOneDoes) {
  ct::SinkQueue q(1000, 4096), reference(1000, 4096);
  std::vector<const ct_event*> batch(1000);
  uint32_t next = 1;
  for (int round = 0; round < 200; ++round) {
    const size_t fill = 1 + static_cast<size_t>(round * 7 % 23);
    for (size_t i = 0; i < fill && q.bytes() + 256 < q.capacity_bytes(); ++i) {
      q.push(ev(next));
      reference.push(ev(next++));
    }
    const size_t walked = q.front(std::span(batch).first(static_cast<size_t>(round % 5) * 9));
    for (size_t i = 0; i < static_cast<size_t>(round % 3) && q.bytes() + 256 < q.capacity_bytes();
         ++i) {
      q.push(ev(next));
      reference.push(ev(next++));
    }
    const size_t n = round % 4 == 0 && walked > 0 ? walked - 1 : walked;
    q.pop(n);
    for (size_t i = 0; i < n; ++i) reference.pop(1);
    ASSERT_EQ(q.size(), reference.size()) << round;
    ASSERT_EQ(q.bytes(), reference.bytes()) << round;
    for (size_t i = 0; i < q.size(); ++i) ASSERT_EQ(q.at(i).guest_pid, reference.at(i).guest_pid);
  }
  EXPECT_EQ(q.total_drops(), 0u);
  EXPECT_GT(next, 400u);  // the ring went round many times
}
