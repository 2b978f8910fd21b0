#include "frame_buffer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "frame_encoder.hpp"

namespace wire = cellos::telemetry::wire;

namespace {

// Appends the frame of an event whose pid tells it apart; returns its size.
size_t add(wire::FrameBuffer& b, uint32_t pid) {
  const std::span<uint8_t> room = b.reserve();
  if (room.empty()) return 0;
  const size_t n = wire::encode_frame(
      ct_event{sizeof(ct_event), "process.spawned", pid, "x", 7, nullptr, 0}, room);
  b.commit(n);
  return n;
}

TEST(FrameBuffer, ReleasesOnlyWholeConsumedFrames) {
  wire::FrameBuffer b(16384);
  const size_t f = add(b, 1);
  add(b, 2);
  add(b, 3);
  ASSERT_EQ(b.frames(), 3u);
  b.mark_sent(b.unsent().size());
  EXPECT_EQ(b.release_consumed(f - 1), 0u);  // one byte short of the first frame
  EXPECT_EQ(b.release_consumed(f + 5), 1u);  // the first, and part of the second: only the first
  EXPECT_EQ(b.frames(), 2u);
  EXPECT_EQ(b.sent(), 2 * f);
  EXPECT_EQ(b.release_consumed(1000000), 2u);  // never beyond what was sent
  EXPECT_TRUE(b.empty());
}

// Everything held consumed at once (a host that keeps up) releases every frame, and the next
// frame starts at the front again; consumed short of the unsent tail releases only what was sent.
TEST(FrameBuffer, AllConsumedReleasesEveryFrameAndStartsAgainAtTheFront) {
  wire::FrameBuffer b(16384);
  const std::span<uint8_t> first = b.reserve();
  for (uint32_t pid = 1; pid <= 20; ++pid) add(b, pid);
  b.mark_sent(b.unsent().size());
  const size_t f = add(b, 21);  // held, not sent
  EXPECT_EQ(b.release_consumed(b.sent()), 20u);
  EXPECT_EQ(b.frames(), 1u);
  EXPECT_EQ(b.bytes(), f);
  b.mark_sent(f);
  EXPECT_EQ(b.release_consumed(f), 1u);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.sent(), 0u);
  EXPECT_EQ(b.reserve().data(), first.data());
}

TEST(FrameBuffer, RewindSendsEverythingHeldFromAFrameBoundary) {
  wire::FrameBuffer b(16384);
  const size_t f = add(b, 1);
  add(b, 2);
  b.mark_sent(f + 3);  // the connection died three bytes into the second frame
  EXPECT_EQ(b.frames_sent(), 2u);
  b.release_consumed(f);
  b.rewind();
  // What goes out next is the second frame, whole, from its length prefix.
  const std::span<const uint8_t> next = b.unsent();
  ASSERT_EQ(next.size(), f);
  const std::string expected =
      wire::encode_frame(ct_event{sizeof(ct_event), "process.spawned", 2, "x", 7, nullptr, 0});
  EXPECT_EQ(std::string(next.begin(), next.end()), expected);
}

TEST(FrameBuffer, BoundedAndReusableAfterRelease) {
  wire::FrameBuffer b(16384);
  size_t added = 0;
  while (add(b, 1) > 0) ++added;  // same-size frames, so every fill takes as many
  EXPECT_FALSE(b.has_room());
  EXPECT_LE(b.bytes(), b.capacity());
  EXPECT_GT(b.bytes() + wire::kMaxFrameBytes, b.capacity());  // refused only when truly full
  // Consume everything a few times over: the storage is reused, never grown.
  for (int round = 0; round < 5; ++round) {
    b.mark_sent(b.unsent().size());
    b.release_consumed(b.sent());
    EXPECT_TRUE(b.empty());
    size_t again = 0;
    while (add(b, 1) > 0) ++again;
    EXPECT_EQ(again, added);
  }
}

TEST(FrameBuffer, CompactsWithoutReorderingFrames) {
  wire::FrameBuffer b(16384);
  uint32_t next_pid = 1, expect_pid = 1;
  // Keep a window of frames live while far more than the storage passes through.
  for (int i = 0; i < 5000; ++i) {
    while (add(b, next_pid) > 0) ++next_pid;
    b.mark_sent(b.unsent().size());
    const std::span<const uint8_t> all(b.unsent().data() - b.sent(), b.sent());
    // Release half, checking the frames come out in order.
    size_t offset = 0, to_release = b.frames() / 2;
    for (size_t k = 0; k < to_release; ++k) {
      const std::string got(all.begin() + static_cast<long>(offset),
                            all.begin() + static_cast<long>(offset + all[offset] + 4));
      ASSERT_EQ(got, wire::encode_frame(ct_event{sizeof(ct_event), "process.spawned", expect_pid,
                                                 "x", 7, nullptr, 0}));
      offset += got.size();
      ++expect_pid;
    }
    b.release_consumed(offset);
    b.rewind();
  }
}

TEST(FrameBuffer, RejectsACapacityBelowTwoFrames) {
  EXPECT_THROW(wire::FrameBuffer(wire::kMaxFrameBytes), std::invalid_argument);
}

}  // namespace
