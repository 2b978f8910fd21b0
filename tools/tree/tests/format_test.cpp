#include "format.hpp"

#include <gtest/gtest.h>

namespace tr = cellos::telemetry::tree;

TEST(TreeFormat, DurationsInThreeSignificantDigits) {
  EXPECT_EQ(tr::format_duration(0), "0ns");
  EXPECT_EQ(tr::format_duration(812), "812ns");
  EXPECT_EQ(tr::format_duration(1300000), "1.30ms");
  EXPECT_EQ(tr::format_duration(810000000), "810ms");
  EXPECT_EQ(tr::format_duration(2290000000), "2.29s");
  EXPECT_EQ(tr::format_duration(65000000000), "1m05s");
  EXPECT_EQ(tr::format_duration(7380000000000), "2h03m");
}

TEST(TreeFormat, OffsetsRoundToMillisecondsWithoutMinusZero) {
  EXPECT_EQ(tr::format_offset(10000000), "+0.010s");
  EXPECT_EQ(tr::format_offset(-4880000000), "-4.880s");
  // A process created 0.19 ms before the first event (the agent saw its spawn just after).
  EXPECT_EQ(tr::format_offset(-189556), "+0.000s");
  EXPECT_EQ(tr::format_offset(-500000), "-0.001s");
}

TEST(TreeFormat, Memory) {
  EXPECT_EQ(tr::format_kib(900), "900 KiB");
  EXPECT_EQ(tr::format_kib(48200), "47.1 MiB");
  EXPECT_EQ(tr::format_kib(1310720), "1.25 GiB");
}
