// The real kernel and the real agent: PSI triggers firing under made pressure (root: a trigger
// window under 2 s needs CAP_SYS_RESOURCE), and system.stats against the files the test reads.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "pressure_agent.hpp"
#include "proc_file.hpp"
#include "system_stats.hpp"

namespace ct = cellos::telemetry;
namespace cpr = cellos::telemetry::pressure;
namespace pt = cellos::telemetry::pressure::testing;
namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

constexpr uint64_t kSecond = 1'000'000'000;

// Waits until the probe has reported system.stats once: start() registers the triggers before
// it arms the stats timer, so they are in place from then on.
bool started(const pt::Agent& agent) {
  return t::eventually([&] { return !agent.events("system.stats").empty(); }, 30s);
}

// The checks every pressure.* event must pass.
void expect_pressure_event(const t::Captured& e, uint64_t threshold_us, uint64_t window_us) {
  EXPECT_EQ(e.extras.at("threshold_us"), threshold_us);
  EXPECT_EQ(e.extras.at("window_us"), window_us);
  for (const char* k : {"some_avg10", "some_avg60", "full_avg10"}) {
    EXPECT_LE(e.extras.at(k), 10000u) << k;
  }
  EXPECT_GT(e.extras.at("some_total_us"), 0u);
  EXPECT_TRUE(e.extras.contains("full_total_us"));
}

void expect_at_most_one_a_window(const std::vector<t::Captured>& events, uint64_t window_ns) {
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GE(events[i].guest_monotonic_ns - events[i - 1].guest_monotonic_ns, window_ns)
        << "events " << i - 1 << " and " << i << " within one window";
  }
}

TEST(PressureE2E, FourSpinnersOnTwoCoresFirePressureCpu) {
  CT_SKIP_UNLESS_ROOT("a PSI trigger window under 2 s needs CAP_SYS_RESOURCE");
  const uint64_t window = pt::test_window_us();
  pt::Agent agent("cpu_threshold_us = 10000\ncpu_window_us = " + std::to_string(window) +
                  "\nmemory_threshold_us = 0\nio_threshold_us = 0\nstats_interval_ms = 100\n");
  ASSERT_TRUE(started(agent)) << agent.err();

  // Two spinners on each of two CPUs (CPU 0 alone on a one-CPU machine): for two seconds at
  // least one task always waits for a CPU.
  const int second_cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
  const uint64_t from = ct::monotonic_ns();
  std::vector<pid_t> spinners;
  for (int k = 0; k < 4; ++k)
    spinners.push_back(pt::spawn_spinner(k % 2 ? second_cpu : 0, from + 2 * kSecond));
  const bool fired =
      t::eventually([&] { return !agent.events("pressure.cpu", from).empty(); }, 60s);
  for (pid_t p : spinners) t::wait_pid(p);
  ASSERT_TRUE(fired) << agent.err();

  const auto events = agent.events("pressure.cpu");
  for (const auto& e : events) expect_pressure_event(e, 10000, window);
  expect_at_most_one_a_window(events, window * 1000);
  EXPECT_TRUE(agent.events("pressure.memory").empty());
  EXPECT_TRUE(agent.events("pressure.io").empty());
  EXPECT_TRUE(agent.running());
}

// A cgroup v1 memory controller group, removed on destruction (its tasks must be gone by then).
class MemoryCgroup {
 public:
  static constexpr const char* kRoot = "/sys/fs/cgroup/memory";
  MemoryCgroup() : path_(std::string(kRoot) + "/ct-pressure-test-" + std::to_string(getpid())) {
    std::filesystem::create_directory(path_);
  }
  ~MemoryCgroup() {
    // A group whose last task has just been reaped may still be busy for a moment.
    t::eventually([&] { return rmdir(path_.c_str()) == 0 || errno == ENOENT; }, 10s);
  }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;
  void write(const std::string& file, const std::string& value) const {
    std::ofstream(path_ + "/" + file) << value;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child in the group that writes a file eight times the group's limit and reads it back over
// and over: every read refaults pages the group just reclaimed, which the kernel counts as a
// memory stall. It stops once stop_file exists (or after a minute).
pid_t spawn_squeezed_reader(const MemoryCgroup& group, const std::string& file,
                            const std::string& stop_file) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  group.write("cgroup.procs", std::to_string(getpid()));
  static char buffer[1 << 20];
  std::fill(std::begin(buffer), std::end(buffer), 'x');
  const int fd = open(file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) _exit(1);
  for (int k = 0; k < 128; ++k) {
    if (write(fd, buffer, sizeof buffer) != static_cast<ssize_t>(sizeof buffer)) _exit(1);
  }
  const uint64_t deadline = ct::monotonic_ns() + 60 * kSecond;
  while (access(stop_file.c_str(), F_OK) != 0 && ct::monotonic_ns() < deadline) {
    for (off_t off = 0; pread(fd, buffer, sizeof buffer, off) > 0; off += sizeof buffer) {
    }
  }
  _exit(0);
}

// Without CAP_SYS_RESOURCE the kernel takes only windows in whole multiples of 2 s, with a bare
// EINVAL for the rest: the agent says which option and what to do, and exits 78.
TEST(PressureE2E, WithoutCapSysResourceASubTwoSecondWindowFailsStartSayingWhy) {
  CT_SKIP_UNLESS_ROOT("dropping a capability from the bounding set needs CAP_SETPCAP");
  pt::Agent agent(
      "cpu_threshold_us = 0\nmemory_threshold_us = 100000\nio_threshold_us = 0\n",
      {"/usr/bin/setpriv", "--bounding-set", "-sys_resource", "--inh-caps", "-sys_resource", "--"});
  EXPECT_EQ(agent.wait_exit(), 78) << agent.err();
  EXPECT_NE(agent.err().find(
                "cannot start: writing trigger \"some 100000 1000000\" to /proc/pressure/memory: "
                "Invalid argument: memory_window_us = 1000000 is not a whole multiple of 2 s, "
                "which the kernel takes only from a process with CAP_SYS_RESOURCE, and the agent "
                "lacks it: grant it, or set memory_window_us to 2000000 (or 4000000, 6000000, "
                "...)"),
            std::string::npos)
      << agent.err();
}

TEST(PressureE2E, MemoryCgroupSqueezeFiresPressureMemory) {
  CT_SKIP_UNLESS_ROOT("cgroups and a PSI trigger window under 2 s");
  if (access((std::string(MemoryCgroup::kRoot) + "/cgroup.procs").c_str(), F_OK) != 0) {
    GTEST_SKIP() << "no cgroup v1 memory controller at " << MemoryCgroup::kRoot;
  }
  const uint64_t window = pt::test_window_us();
  pt::Agent agent("cpu_threshold_us = 0\nmemory_threshold_us = 10000\nmemory_window_us = " +
                  std::to_string(window) + "\nio_threshold_us = 0\nstats_interval_ms = 100\n");
  ASSERT_TRUE(started(agent)) << agent.err();

  t::TempDir dir;
  // The squeeze needs page cache the group can drop and read back; a file in tmpfs is shared
  // memory, which without swap cannot be reclaimed (the reader would be OOM-killed instead).
  struct statfs fs {};
  if (statfs(dir.path().c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC) {
    GTEST_SKIP() << dir.path() << " is on tmpfs; set TMPDIR to a disk-backed directory";
  }
  const uint64_t from = ct::monotonic_ns();
  bool fired = false;
  {
    MemoryCgroup group;
    group.write("memory.limit_in_bytes", std::to_string(16 << 20));
    const pid_t reader = spawn_squeezed_reader(group, dir.file("big"), dir.file("stop"));
    fired = t::eventually([&] { return !agent.events("pressure.memory", from).empty(); }, 60s);
    std::ofstream(dir.file("stop")) << "";
    EXPECT_EQ(t::wait_pid(reader), 0);
  }
  ASSERT_TRUE(fired) << agent.err();
  const auto events = agent.events("pressure.memory");
  for (const auto& e : events) expect_pressure_event(e, 10000, window);
  expect_at_most_one_a_window(events, window * 1000);
  EXPECT_TRUE(agent.events("pressure.cpu").empty());
}

// The range of what the test saw of one figure while the agent ran.
struct Seen {
  uint64_t min = ~0ull, max = 0;
  void add(uint64_t v) {
    min = std::min(min, v);
    max = std::max(max, v);
  }
  bool covers(uint64_t v, uint64_t slack) const { return v + slack >= min && v <= max + slack; }
};

TEST(PressureE2E, SystemStatsAgreeWithMeminfoAndLoadavgReadMeanwhile) {
  pt::Agent agent(
      "cpu_threshold_us = 0\nmemory_threshold_us = 0\nio_threshold_us = 0\n"
      "stats_interval_ms = 100\n");
  cpr::ProcFile meminfo("/proc/meminfo"), loadavg("/proc/loadavg"), uptime("/proc/uptime");
  Seen total, available, load1, load5, tasks, up;
  // Sampled every 10 ms from before the agent's first reading until after its third is
  // captured, so whatever it read lies between what the test saw (load averages change every
  // 5 s; memory and task counts by at most the slack in between).
  const auto sample = [&] {
    const auto m = cpr::parse_meminfo(meminfo.read());
    const auto l = cpr::parse_loadavg(loadavg.read());
    const auto u = cpr::parse_uptime_s(uptime.read());
    ASSERT_TRUE(m && l && u);
    total.add(m->total_kib);
    available.add(m->available_kib);
    load1.add(l->load1);
    load5.add(l->load5);
    tasks.add(l->total);
    up.add(*u);
  };
  sample();
  ASSERT_TRUE(t::eventually(
      [&] {
        sample();
        return agent.events("system.stats").size() >= 3;
      },
      30s))
      << agent.err();
  sample();

  const auto events = agent.events("system.stats");
  for (const auto& e : events) {
    const auto& x = e.extras;
    EXPECT_EQ(x.at("mem_total_kib"), total.max);
    EXPECT_EQ(total.min, total.max);
    EXPECT_TRUE(available.covers(x.at("mem_available_kib"), 128 * 1024))
        << x.at("mem_available_kib") << " vs " << available.min << ".." << available.max;
    EXPECT_TRUE(load1.covers(x.at("load1"), 0)) << x.at("load1");
    EXPECT_TRUE(load5.covers(x.at("load5"), 0)) << x.at("load5");
    EXPECT_TRUE(tasks.covers(x.at("procs_total"), 500)) << x.at("procs_total");
    EXPECT_GE(x.at("procs_running"), 1u);  // the agent itself, reading
    EXPECT_LE(x.at("procs_running"), x.at("procs_total"));
    EXPECT_TRUE(up.covers(x.at("uptime_s"), 1)) << x.at("uptime_s");
    EXPECT_LE(x.at("cpu_busy"), 10000u);
  }
  expect_at_most_one_a_window(events, 0);  // in order
}

}  // namespace
