#include "exit_records.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cp = cellos::telemetry::process;

TEST(ProcessExitRecords, KeepsARecordUntilItsExitIsHandledHoweverManyComeAfter) {
  cp::ExitRecords records(1 << 14);
  records.add(42, "true");
  for (uint32_t pid = 1000; pid < 2500; ++pid) records.add(pid, "sh");  // 1,500 later exits
  EXPECT_EQ(records.oldest(42), "true");
  EXPECT_TRUE(records.holds(42));
  EXPECT_TRUE(records.release(42));
  EXPECT_FALSE(records.holds(42));
  EXPECT_EQ(records.oldest(42), std::nullopt);
  EXPECT_EQ(records.size(), 1500u);
  EXPECT_EQ(records.evicted(), 0u);
}

TEST(ProcessExitRecords, AReusedPidsRecordsAreTakenOldestFirst) {
  cp::ExitRecords records(16);
  records.add(7, "first");
  records.add(8, "other");
  records.add(7, "second");
  EXPECT_EQ(records.oldest(7), "first");
  EXPECT_TRUE(records.release(7));
  EXPECT_EQ(records.oldest(7), "second");
  EXPECT_TRUE(records.release(7));
  EXPECT_FALSE(records.release(7));
  EXPECT_EQ(records.oldest(8), "other");
}

TEST(ProcessExitRecords, ReleasingOutOfOrderKeepsTheRest) {
  cp::ExitRecords records(16);
  records.add(1, "a");
  records.add(2, "b");
  records.add(3, "c");
  EXPECT_TRUE(records.release(2));
  EXPECT_EQ(records.oldest(1), "a");
  EXPECT_EQ(records.oldest(3), "c");
  EXPECT_EQ(records.size(), 2u);
}

TEST(ProcessExitRecords, AFullStoreDropsItsOldestAndCountsIt) {
  cp::ExitRecords records(2);
  records.add(1, "a");
  records.add(2, "b");
  records.add(3, "c");
  EXPECT_EQ(records.evicted(), 1u);
  EXPECT_FALSE(records.holds(1));
  EXPECT_EQ(records.oldest(3), "c");
  EXPECT_EQ(records.size(), 2u);
}

TEST(ProcessExitRecords, NamesAreCutToTheKernelsFifteenBytes) {
  cp::ExitRecords records(4);
  records.add(1, "a-name-longer-than-fifteen");
  EXPECT_EQ(records.oldest(1), "a-name-longer-t");
}

TEST(ProcessExitRecords, ClearForgetsEverything) {
  cp::ExitRecords records(4);
  records.add(1, "a");
  records.clear();
  EXPECT_FALSE(records.holds(1));
  EXPECT_EQ(records.size(), 0u);
}
