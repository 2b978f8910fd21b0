#include "log_limiter.hpp"

#include <gtest/gtest.h>

namespace ck = cellos::telemetry::kernel;

TEST(LogLimiter, BurstPerWindowThenCounted) {
  ck::LogLimiter l(3, 100);
  EXPECT_TRUE(l.admit(0));
  EXPECT_TRUE(l.admit(1));
  EXPECT_TRUE(l.admit(2));
  EXPECT_FALSE(l.admit(3));
  EXPECT_FALSE(l.admit(99));
  EXPECT_EQ(l.suppressed(), 2u);
  EXPECT_EQ(l.report_due(), 100u);
  EXPECT_TRUE(l.admit(100));  // the next window
  EXPECT_EQ(l.take_suppressed(), 2u);
  EXPECT_FALSE(l.report_due());
}

TEST(LogLimiter, AReportSpendsOneOfTheNextWindow) {
  ck::LogLimiter l(2, 100);
  l.admit(0);
  l.admit(0);
  l.admit(0);
  l.start_report_window(100);
  EXPECT_EQ(l.take_suppressed(), 1u);
  EXPECT_TRUE(l.admit(150));
  EXPECT_FALSE(l.admit(150));
}
