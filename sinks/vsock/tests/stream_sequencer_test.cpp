// The sink's numbering of its streams, against exactly what a buffer would hold.
#include "stream_sequencer.hpp"

#include <gtest/gtest.h>

namespace wire = cellos::telemetry::wire;

namespace {

void expect_hello(const wire::StreamSequencer& s, uint64_t stream, uint64_t first_seq) {
  const auto h = s.connection_hello();
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->stream_id, stream);
  EXPECT_EQ(h->first_seq, first_seq);
}

TEST(StreamSequencer, NumbersFromOneAndTheHelloNamesTheFirstFrameHeld) {
  wire::StreamSequencer s(7);
  expect_hello(s, 7, 1);  // nothing held: the next frame's
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(s.next_seq(), static_cast<uint64_t>(i + 1));
    s.committed_event();
  }
  expect_hello(s, 7, 1);
  s.released(3);  // the host consumed 1..3: a new connection resends from 4
  expect_hello(s, 7, 4);
  EXPECT_EQ(s.frames_held(), 2u);
  s.released(2);
  expect_hello(s, 7, 6);
  EXPECT_EQ(s.frames_held(), 0u);
}

TEST(StreamSequencer, ANewStreamStartsAtOneAfterItsOwnHello) {
  wire::StreamSequencer s(7);
  s.committed_event();  // 7:1
  s.committed_event();  // 7:2
  s.committed_hello(9);
  EXPECT_EQ(s.stream_id(), 9u);
  EXPECT_EQ(s.next_seq(), 1u);
  s.committed_event();  // 9:1 (agent.restored)
  s.committed_event();  // 9:2
  EXPECT_EQ(s.frames_held(), 5u);
  expect_hello(s, 7, 1);
  s.released(2);
  // The first frame held is the new stream's hello: the connection starts with it.
  EXPECT_FALSE(s.connection_hello().has_value());
  s.released(1);
  expect_hello(s, 9, 1);
  s.released(2);
  expect_hello(s, 9, 3);
  EXPECT_EQ(s.frames_held(), 0u);
}

TEST(StreamSequencer, ReleasingAcrossRunsAndMoreThanHeldIsExact) {
  wire::StreamSequencer s(1);
  s.committed_event();
  s.committed_hello(2);
  s.committed_hello(3);  // two generation changes with nothing between
  s.committed_event();
  EXPECT_EQ(s.frames_held(), 4u);
  s.released(3);
  expect_hello(s, 3, 1);
  s.released(10);
  EXPECT_EQ(s.frames_held(), 0u);
  expect_hello(s, 3, 2);
}

// The sequencer keeps its newest run by pointer: once every run was released (the pointer's
// run gone) or a new stream's hello began one, the next event must start or join the right run.
TEST(StreamSequencer, EventsAfterEverythingWasReleasedOrAHelloBeginARunOfTheirOwn) {
  wire::StreamSequencer s(7);
  for (int round = 0; round < 3; ++round) {
    s.committed_event();
    s.committed_event();
    s.released(2);
    EXPECT_EQ(s.frames_held(), 0u);
  }
  s.committed_event();  // seq 7
  expect_hello(s, 7, 7);
  s.committed_hello(9);
  s.committed_event();  // stream 9, seq 1, in the hello's run
  EXPECT_EQ(s.frames_held(), 3u);
  s.released(1);
  EXPECT_FALSE(s.connection_hello().has_value());  // the new stream's hello is first now
  s.released(1);                                   // the hello: its run keeps the event
  expect_hello(s, 9, 1);
  s.released(1);
  s.committed_event();
  expect_hello(s, 9, 2);
  EXPECT_EQ(s.frames_held(), 1u);
}

}  // namespace
