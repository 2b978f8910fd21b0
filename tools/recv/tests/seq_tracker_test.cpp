// The seq accounting on its own: gaps with their ranges, duplicates, late frames, a hello that
// skips ahead, and a stream resumed from a VM's file.
#include "seq_tracker.hpp"

#include <gtest/gtest.h>

namespace rv = cellos::telemetry::recv;
using rv::Verdict;

namespace {

TEST(SeqTracker, InOrderGapLateAndDuplicate) {
  rv::SeqTracker t;
  EXPECT_EQ(t.hello(7, 1, "vm42").kind, Verdict::kFirst);
  for (uint64_t s = 1; s <= 3; ++s) EXPECT_EQ(t.frame(7, s, "vm42").kind, Verdict::kInOrder);
  const Verdict gap = t.frame(7, 7, "vm42");
  EXPECT_EQ(gap.kind, Verdict::kGap);
  EXPECT_EQ(gap.from, 4u);
  EXPECT_EQ(gap.to, 6u);
  EXPECT_EQ(t.frame(7, 5, "vm42").kind, Verdict::kLate);  // splits 4-6 into 4 and 6
  EXPECT_EQ(t.frame(7, 5, "vm42").kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame(7, 2, "vm42").kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame(7, 8, "vm42").kind, Verdict::kInOrder);
  const auto s = t.get(7).value();
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
  EXPECT_EQ(t.hello(1, 40, "a").kind, Verdict::kFirst);  // earlier frames: an earlier receiver
  EXPECT_EQ(t.frame(1, 40, "a").kind, Verdict::kInOrder);
  EXPECT_EQ(t.frame(1, 41, "a").kind, Verdict::kInOrder);
  EXPECT_EQ(t.hello(1, 41, "a").kind, Verdict::kInOrder);  // 41 comes again: a duplicate
  EXPECT_EQ(t.frame(1, 41, "a").kind, Verdict::kDuplicate);
  const Verdict gap = t.hello(1, 50, "a");  // 42-49 never came
  EXPECT_EQ(gap.kind, Verdict::kGap);
  EXPECT_EQ(gap.from, 42u);
  EXPECT_EQ(gap.to, 49u);
  EXPECT_EQ(t.frame(1, 50, "a").kind, Verdict::kInOrder);
  EXPECT_EQ(t.get(1)->missing_count(), 8u);
}

TEST(SeqTracker, ResumedFromAFileAndUndoneByPut) {
  rv::SeqTracker t;
  t.resume(9, 100, "vm");
  EXPECT_TRUE(t.get(9)->resumed);
  EXPECT_EQ(t.hello(9, 95, "vm").kind, Verdict::kInOrder);
  const auto before = t.get(9);
  EXPECT_EQ(t.frame(9, 95, "vm").kind, Verdict::kDuplicate);
  EXPECT_EQ(t.frame(9, 101, "vm").kind, Verdict::kInOrder);
  t.put(9, before);  // as if neither frame had come
  EXPECT_EQ(t.get(9)->duplicates, 0u);
  EXPECT_EQ(t.get(9)->next, 101u);
  t.resume(9, 500, "vm");  // known already: what this run saw wins
  EXPECT_EQ(t.get(9)->next, 101u);
  t.put(9, std::nullopt);
  EXPECT_FALSE(t.get(9).has_value());
}

}  // namespace
