// The system.stats readers against files recorded from Linux 6.18 (data/), the CPU-busy
// arithmetic, and the one-event-per-window gate.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "psi_trigger.hpp"
#include "system_stats.hpp"

namespace cpr = cellos::telemetry::pressure;
namespace t = cellos::telemetry::testing;

namespace {

std::string data(const std::string& name) {
  return t::read_file(std::string(PRESSURE_TEST_DATA) + "/" + name);
}

TEST(PressureSystemStats, RecordedMeminfo) {
  const auto m = cpr::parse_meminfo(data("meminfo"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->total_kib, 24683584u);
  EXPECT_EQ(m->available_kib, 24098312u);
}

TEST(PressureSystemStats, MeminfoWithoutMemAvailableOrUnitsIsRefused) {
  EXPECT_FALSE(cpr::parse_meminfo("MemTotal: 100 kB\nMemFree: 50 kB\n").has_value());
  EXPECT_FALSE(cpr::parse_meminfo("MemTotal: 100\nMemAvailable: 50 kB\n").has_value());
  EXPECT_FALSE(cpr::parse_meminfo("MemTotal: 100 MB\nMemAvailable: 50 kB\n").has_value());
  const auto m = cpr::parse_meminfo("MemTotal: 100 kB\nMemAvailable: 50 kB");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->available_kib, 50u);
}

TEST(PressureSystemStats, RecordedLoadavg) {
  const auto l = cpr::parse_loadavg(data("loadavg"));
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->load1, 463u);
  EXPECT_EQ(l->load5, 375u);
  EXPECT_EQ(l->load15, 267u);
  EXPECT_EQ(l->running, 3u);
  EXPECT_EQ(l->total, 103u);
}

TEST(PressureSystemStats, LoadavgCutShortIsRefused) {
  EXPECT_FALSE(cpr::parse_loadavg("4.63 3.75 2.67 3/103\n").has_value());
  EXPECT_FALSE(cpr::parse_loadavg("4.63 3.75 2.67 3-103 30618\n").has_value());
  EXPECT_FALSE(cpr::parse_loadavg("4.63 3.75\n").has_value());
}

TEST(PressureSystemStats, RecordedStatAggregateCpuLine) {
  // cpu  1772722 60 360019 201855 2821 0 1284 12113 0 0
  const auto c = cpr::parse_cpu_times(data("stat"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->busy, 1772722u + 60 + 360019 + 0 + 1284 + 12113);
  EXPECT_EQ(c->total, c->busy + 201855 + 2821);
}

TEST(PressureSystemStats, StatWithoutTheAggregateLineIsRefused) {
  EXPECT_FALSE(cpr::parse_cpu_times("cpu0 1 2 3 4 5 6 7 8 0 0\n").has_value());
  EXPECT_FALSE(cpr::parse_cpu_times("cpu  1 2 3 4\n").has_value());
}

TEST(PressureSystemStats, CpuBusyIsTheBusyShareOfTheTicksBetweenSamples) {
  const cpr::CpuTimes a{1000, 4000};
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, {1150, 4200}), 7500u);  // 150 of 200 ticks
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, {1000, 4300}), 0u);     // all idle
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, {1300, 4300}), 10000u);
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, {1001, 4003}), 3333u);  // rounded to nearest
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, a), 0u);                // no tick elapsed
  EXPECT_EQ(cpr::cpu_busy_hundredths(a, {900, 3900}), 0u);      // backwards: nothing made up
}

TEST(PressureSystemStats, RecordedUptimeInWholeSeconds) {
  EXPECT_EQ(cpr::parse_uptime_s(data("uptime")), 11763u);
  EXPECT_FALSE(cpr::parse_uptime_s("abc 1.00\n").has_value());
}

TEST(PressureOncePerWindow, AdmitsTheFirstFiringThenOneAWindow) {
  cpr::OncePerWindow gate(1'000'000'000);
  EXPECT_TRUE(gate.admit(5'000'000'000));
  EXPECT_FALSE(gate.admit(5'000'000'001));
  EXPECT_FALSE(gate.admit(5'999'999'999));
  EXPECT_TRUE(gate.admit(6'000'000'000));
  EXPECT_FALSE(gate.admit(6'500'000'000));
  EXPECT_TRUE(gate.admit(9'000'000'000));
  EXPECT_EQ(gate.suppressed(), 3u);
}

}  // namespace
