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

}  // namespace
