// The built plugin on a mock host (no agent, no privilege): option rules at create, a kernel
// without PSI (a fake /proc with no pressure/ directory), and system.stats from a fake /proc
// whose figures the test knows exactly.
#include <gtest/gtest.h>

#include <cellos/telemetry/testing/mock_host.hpp>

#include <filesystem>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;

namespace {

std::string data(const std::string& name) {
  return t::read_file(std::string(PRESSURE_TEST_DATA) + "/" + name);
}

// A /proc with the recorded system files and no pressure/ directory: a kernel without PSI.
void fill_fake_proc(const t::TempDir& dir) {
  for (const char* f : {"meminfo", "loadavg", "stat", "uptime"}) dir.write(f, data(f));
}

uint64_t u(const t::RecordedEvent& e, const char* key) {
  const auto* v = e.extra(key);
  EXPECT_NE(v, nullptr) << key;
  return v ? v->u : ~0ull;
}

TEST(PressureProbe, DeclaresWhatItEmits) {
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  std::vector<std::string> names;
  for (const char* const* p = plugin.descriptor().emits; p && *p; ++p) names.emplace_back(*p);
  EXPECT_EQ(names, (std::vector<std::string>{"pressure.cpu", "pressure.memory", "pressure.io",
                                             "system.stats"}));
}

TEST(PressureProbe, ThresholdLongerThanItsWindowIsRefusedAtCreateNamingBothOptions) {
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  t::MockHost host;
  try {
    plugin.create(
        host, {{"memory_threshold_us", int64_t{2000000}}, {"memory_window_us", int64_t{1000000}}});
    FAIL() << "created";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "create failed: memory_threshold_us = 2000000 exceeds memory_window_us = 1000000: "
              "a trigger fires when the stall time within one window reaches the threshold, so "
              "the kernel refuses a threshold longer than the window");
  }
  // Equal is what the kernel allows.
  EXPECT_NO_THROW(plugin.create(
      host, {{"io_threshold_us", int64_t{500000}}, {"io_window_us", int64_t{500000}}}));
}

TEST(PressureProbe, WithoutPsiOneWarningTriggersOffAndSystemStatsStillReported) {
  t::TempDir proc;
  fill_fake_proc(proc);
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  t::MockHost host;
  auto probe = plugin.create(host, {{"proc_root", proc.path()}});  // all three triggers on
  probe->start();

  ASSERT_EQ(host.logs.size(), 1u);
  EXPECT_EQ(host.logs[0].first, CT_LOG_WARN);
  EXPECT_EQ(host.logs[0].second,
            "pressure stall information unavailable (opening " + proc.path() +
                "/pressure/cpu: No such file or directory): pressure triggers off, system.stats "
                "still reported. A kernel built with CONFIG_PSI_DEFAULT_DISABLED needs psi=1 on "
                "its command line");
  EXPECT_TRUE(host.watched.empty());
  EXPECT_EQ(host.timer_first_ns, 10'000'000'000u);
  EXPECT_EQ(host.timer_interval_ns, 10'000'000'000u);

  // The next interval: 300 more busy ticks and 100 more idle ones than the recorded stat.
  proc.write("stat", "cpu  1773022 60 360019 201905 2871 0 1284 12113 0 0\n");
  probe->on_timer();
  ASSERT_EQ(host.events.size(), 1u);
  const auto& e = host.events[0];
  EXPECT_EQ(e.probe_source, "system.stats");
  EXPECT_EQ(e.guest_pid, static_cast<uint32_t>(getpid()));
  std::vector<std::string> keys;
  for (const auto& [k, v] : e.extras) keys.push_back(k);
  EXPECT_EQ(keys,
            (std::vector<std::string>{"mem_total_kib", "mem_available_kib", "load1", "load5",
                                      "cpu_busy", "procs_running", "procs_total", "uptime_s"}));
  EXPECT_EQ(u(e, "mem_total_kib"), 24683584u);
  EXPECT_EQ(u(e, "mem_available_kib"), 24098312u);
  EXPECT_EQ(u(e, "load1"), 463u);
  EXPECT_EQ(u(e, "load5"), 375u);
  EXPECT_EQ(u(e, "cpu_busy"), 7500u);  // 300 of 400 ticks
  EXPECT_EQ(u(e, "procs_running"), 3u);
  EXPECT_EQ(u(e, "procs_total"), 103u);
  EXPECT_EQ(u(e, "uptime_s"), 11763u);
  EXPECT_EQ(host.logs.size(), 1u);  // still the one warning
}

TEST(PressureProbe, NothingWatchedNorTimedWhenEverythingIsOff) {
  t::TempDir proc;  // empty: nothing is opened
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  t::MockHost host;
  auto probe = plugin.create(host, {{"proc_root", proc.path()},
                                    {"cpu_threshold_us", int64_t{0}},
                                    {"memory_threshold_us", int64_t{0}},
                                    {"io_threshold_us", int64_t{0}},
                                    {"stats_interval_ms", int64_t{0}}});
  probe->start();
  EXPECT_TRUE(host.logs.empty());
  EXPECT_TRUE(host.watched.empty());
  EXPECT_FALSE(host.timer_armed());
}

TEST(PressureProbe, AMissingSystemFileFailsStartNamingIt) {
  t::TempDir proc;
  fill_fake_proc(proc);
  std::filesystem::remove(proc.file("loadavg"));
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  t::MockHost host;
  auto probe = plugin.create(host, {{"proc_root", proc.path()},
                                    {"cpu_threshold_us", int64_t{0}},
                                    {"memory_threshold_us", int64_t{0}},
                                    {"io_threshold_us", int64_t{0}}});
  try {
    probe->start();
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "start failed: opening " + proc.file("loadavg") + ": No such file or directory");
  }
}

TEST(PressureProbe, AnUnreadableSampleIsSkippedWithAWarningNotMadeUp) {
  t::TempDir proc;
  fill_fake_proc(proc);
  t::PluginUnderTest plugin(PRESSURE_PROBE_SO);
  t::MockHost host;
  auto probe = plugin.create(host, {{"proc_root", proc.path()},
                                    {"cpu_threshold_us", int64_t{0}},
                                    {"memory_threshold_us", int64_t{0}},
                                    {"io_threshold_us", int64_t{0}}});
  probe->start();
  proc.write("meminfo", "MemTotal: 1 kB\n");  // no MemAvailable
  probe->on_timer();
  EXPECT_TRUE(host.events.empty());
  ASSERT_EQ(host.logs.size(), 1u);
  EXPECT_EQ(host.logs[0].second, proc.path() +
                                     "/meminfo does not read as expected (1 time(s)); "
                                     "system.stats skipped");
}

// The option table's ranges are the agent's to enforce, with the file and line of the value.
TEST(PressureProbeConfig, WindowOutsideTheKernelsRangeExits78NamingFileAndLine) {
  t::TempDir dir;
  const std::string config =
      dir.write("agent.toml", "[[probes.pressure]]\ncpu_window_us = 100000\n[[sinks.stdout]]\n");
  const auto o =
      t::run_agent({"--check-config", "--config", config, "--plugin-dir", t::plugin_dir()});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(config + ":2:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("cpu_window_us"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("500000"), std::string::npos) << o.err;
}

TEST(PressureProbeConfig, ThresholdOverWindowExits78NamingFileAndTheRule) {
  t::TempDir dir;
  const std::string config =
      dir.write("agent.toml",
                "[[probes.pressure]]\ncpu_threshold_us = 900000\ncpu_window_us = 600000\n"
                "[[sinks.stdout]]\n");
  const auto o =
      t::run_agent({"--check-config", "--config", config, "--plugin-dir", t::plugin_dir()});
  EXPECT_EQ(o.exit_code, 78) << o.err;
  EXPECT_NE(o.err.find(config), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("cpu_threshold_us = 900000 exceeds cpu_window_us = 600000"),
            std::string::npos)
      << o.err;
}

}  // namespace
