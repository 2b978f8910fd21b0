// The per-CPU gap counter on made-up sequences: what the kernel's numbering allows, and the
// edges (first message, wraparound, interleaved CPUs, a counter that goes back).
#include "seq_gaps.hpp"

#include <gtest/gtest.h>

namespace cp = cellos::telemetry::process;

TEST(SeqGaps, TheFirstMessageOfEachCpuIsABaselineNotALoss) {
  cp::SeqGaps g;
  EXPECT_EQ(g.observe(0, 4594086), 0u);
  EXPECT_EQ(g.observe(1, 12), 0u);
  EXPECT_EQ(g.observe(5, 0), 0u);  // CPU numbers need not be dense
  EXPECT_EQ(g.lost(), 0u);
}

TEST(SeqGaps, ConsecutiveNumbersLoseNothing) {
  cp::SeqGaps g;
  for (uint32_t s = 100; s < 200; ++s) EXPECT_EQ(g.observe(0, s), 0u);
  EXPECT_EQ(g.lost(), 0u);
}

TEST(SeqGaps, AGapCountsExactlyTheMissingNumbers) {
  cp::SeqGaps g;
  g.observe(0, 7);
  EXPECT_EQ(g.observe(0, 10), 2u);  // 8 and 9
  EXPECT_EQ(g.observe(0, 11), 0u);
  EXPECT_EQ(g.observe(0, 1011), 999u);
  EXPECT_EQ(g.lost(), 1001u);
}

TEST(SeqGaps, OtherCpusInterleavedAreNotGaps) {
  cp::SeqGaps g;
  // As a listener receives them: each CPU's numbers in order, the CPUs mixed.
  const struct {
    uint32_t cpu, seq;
  } received[] = {{0, 5}, {1, 100}, {1, 101}, {0, 6}, {1, 105}, {0, 8}, {1, 106}, {0, 9}};
  uint64_t sum = 0;
  for (const auto& r : received) sum += g.observe(r.cpu, r.seq);
  EXPECT_EQ(sum, 1u + 3u);  // CPU 0 lost 7; CPU 1 lost 102, 103, 104
  EXPECT_EQ(g.lost(), 4u);
}

TEST(SeqGaps, TheCounterWrapsWithoutAGap) {
  cp::SeqGaps g;
  g.observe(0, 0xfffffffeu);
  EXPECT_EQ(g.observe(0, 0xffffffffu), 0u);
  EXPECT_EQ(g.observe(0, 0), 0u);
  EXPECT_EQ(g.observe(0, 1), 0u);
  EXPECT_EQ(g.lost(), 0u);
}

TEST(SeqGaps, AGapAcrossTheWrapIsCountedModulo2To32) {
  cp::SeqGaps g;
  g.observe(3, 0xfffffffdu);
  EXPECT_EQ(g.observe(3, 2), 4u);  // 0xfffffffe, 0xffffffff, 0, 1
  EXPECT_EQ(g.lost(), 4u);
}

TEST(SeqGaps, ANumberBehindTheExpectedOneIsANewBaselineNotFourBillionLosses) {
  cp::SeqGaps g;
  g.observe(0, 1000);
  EXPECT_EQ(g.observe(0, 1000), 0u);  // a repeat
  EXPECT_EQ(g.observe(0, 10), 0u);    // far behind
  EXPECT_EQ(g.rebased(), 2u);
  EXPECT_EQ(g.observe(0, 11), 0u);  // counted on from the new baseline
  EXPECT_EQ(g.observe(0, 13), 1u);
  EXPECT_EQ(g.lost(), 1u);
}

TEST(SeqGaps, AGapJustUnderHalfTheRangeIsALoss) {
  cp::SeqGaps g;
  g.observe(0, 0);
  EXPECT_EQ(g.observe(0, 0x80000000u), 0x7fffffffu);
  EXPECT_EQ(g.rebased(), 0u);
}

TEST(SeqGaps, CpusBeyondTheKernelsCeilingAreNotTracked) {
  cp::SeqGaps g;
  EXPECT_EQ(g.observe(cp::SeqGaps::kMaxCpus, 1), 0u);
  EXPECT_EQ(g.observe(0xffffffffu, 9), 0u);  // cpu = -1, as an ack's would be unset
  EXPECT_EQ(g.untracked(), 2u);
  EXPECT_EQ(g.lost(), 0u);
}
