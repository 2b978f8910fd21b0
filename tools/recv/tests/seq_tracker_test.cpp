// The seq accounting on its own: gaps with their ranges, duplicates, late frames, a hello that
// skips ahead, and a stream resumed from a VM's file.
#include "seq_tracker.hpp"

#include <gtest/gtest.h>

namespace rv = cellos::telemetry::recv;
using rv::Verdict;

namespace {

TEST(SeqTracker, InOrderGapLateAndDuplicate) {
  rv::SeqTracker t;
  EXPECT_EQ(t.hello({"vm42", 7}, 1).kind, Verdict::kFirst);
  for (uint64_t s = 1; s <= 3; ++s) EXPECT_EQ(t.frame({"vm42", 7}, s).kind, Verdict::kInOrder);
  const Verdict gap = t.frame({"vm42", 7}, 7);
  EXPECT_EQ(gap.kind, Verdict::kGap);
  EXPECT_EQ(gap.from, 4u);
  EXPECT_EQ(gap.to, 6u);
  EXPECT_EQ(t.frame({"vm42", 7}, 5).kind, Verdict::kLate);  // splits 4-6 into 4 and 6
  EXPECT_EQ(t.frame({"vm42", 7}, 5).kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame({"vm42", 7}, 2).kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame({"vm42", 7}, 8).kind, Verdict::kInOrder);
  const auto s = t.get({"vm42", 7}).value();
  EXPECT_EQ(s.first, 1u);
  EXPECT_EQ(s.next, 9u);
  EXPECT_EQ(s.frames, 6u);  // 1 2 3 7 5 8
  EXPECT_EQ(s.missing_count(), 2u);
  ASSERT_EQ(s.missing.size(), 2u);
  EXPECT_EQ(s.missing.at(4), 4u);
  EXPECT_EQ(s.missing.at(6), 6u);
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(s.late, 1u);
  EXPECT_EQ(s.gaps, 1u);
}

TEST(SeqTracker, HelloResendingIsNoGapHelloSkippingAheadIs) {
  rv::SeqTracker t;
  EXPECT_EQ(t.hello({"a", 1}, 40).kind, Verdict::kFirst);  // earlier frames: an earlier receiver
  EXPECT_EQ(t.frame({"a", 1}, 40).kind, Verdict::kInOrder);
  EXPECT_EQ(t.frame({"a", 1}, 41).kind, Verdict::kInOrder);
  EXPECT_EQ(t.hello({"a", 1}, 41).kind, Verdict::kInOrder);  // 41 comes again: a duplicate
  EXPECT_EQ(t.frame({"a", 1}, 41).kind, Verdict::kDuplicate);
  const Verdict gap = t.hello({"a", 1}, 50);  // 42-49 never came
  EXPECT_EQ(gap.kind, Verdict::kGap);
  EXPECT_EQ(gap.from, 42u);
  EXPECT_EQ(gap.to, 49u);
  EXPECT_EQ(t.frame({"a", 1}, 50).kind, Verdict::kInOrder);
  EXPECT_EQ(t.get({"a", 1})->missing_count(), 8u);
}

TEST(SeqTracker, ResumedFromAFileAndUndoneByPut) {
  rv::SeqTracker t;
  t.resume({"vm", 9}, 100);
  EXPECT_TRUE(t.get({"vm", 9})->resumed);
  EXPECT_EQ(t.hello({"vm", 9}, 95).kind, Verdict::kInOrder);
  const auto before = t.get({"vm", 9});
  EXPECT_EQ(t.frame({"vm", 9}, 95).kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame({"vm", 9}, 101).kind, Verdict::kInOrder);
  t.put({"vm", 9}, before);  // as if neither frame had come
  EXPECT_EQ(t.get({"vm", 9})->duplicates, 0u);
  EXPECT_EQ(t.get({"vm", 9})->next, 101u);
  t.resume({"vm", 9}, 500);  // known already: what this run saw wins
  EXPECT_EQ(t.get({"vm", 9})->next, 101u);
  t.put({"vm", 9}, std::nullopt);
  EXPECT_FALSE(t.get({"vm", 9}).has_value());
}

// Two clones of one snapshot may send one stream_id from two VMs: neither's frames are the
// other's duplicates.
TEST(SeqTracker, OneStreamIdOnTwoVmsIsTwoStreams) {
  rv::SeqTracker t;
  EXPECT_EQ(t.hello({"clone-a", 5}, 10).kind, Verdict::kFirst);
  EXPECT_EQ(t.hello({"clone-b", 5}, 10).kind, Verdict::kFirst);
  EXPECT_EQ(t.frame({"clone-a", 5}, 10).kind, Verdict::kInOrder);
  EXPECT_EQ(t.frame({"clone-b", 5}, 10).kind, Verdict::kInOrder);
  EXPECT_EQ(t.streams().size(), 2u);
}

}  // namespace
