// The real agent, the real kernel: method = "netlink".
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>

#include "e2e_support.hpp"

namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;

TEST(ProcessNetlinkE2E, ProcessLivingAMillisecondIsSpawnedExecdAndExited) {
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const pid_t pid = pt::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  EXPECT_TRUE(agent.find("process.spawned", pid));
  EXPECT_TRUE(agent.find("process.exec", pid, "true"));
  EXPECT_TRUE(agent.find("process.exited", pid, "true"));
  // In order, once each.
  std::vector<std::string> order;
  for (const auto& e : agent.events()) {
    if (e.guest_pid == static_cast<uint32_t>(pid)) order.push_back(e.probe_source);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"process.spawned", "process.exec", "process.exited"}));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessNetlinkE2E, RenamedProcessExitsUnderItsNewName) {
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  // Renames itself after the fork: the kernel's comm event carries the new name.
  const pid_t pid = t::spawn_named("ct-renamed");
  ASSERT_EQ(t::wait_pid(pid), 0);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  EXPECT_TRUE(agent.find("process.exited", pid, "ct-renamed"));
  EXPECT_TRUE(agent.find("process.spawned", pid));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessNetlinkE2E, ThreadsAreNotReportedAsProcesses) {
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  pid_t tid = 0;
  std::thread([&] { tid = static_cast<pid_t>(syscall(SYS_gettid)); }).join();
  // Events are handled in order, so once this later process is reported, the thread's
  // creation and exit have been handled too.
  const pid_t marker = pt::run_true();
  ASSERT_EQ(t::wait_pid(marker), 0);
  ASSERT_TRUE(agent.await("process.exited", marker)) << agent.err();
  for (const auto& e : agent.events()) {
    EXPECT_NE(e.guest_pid, static_cast<uint32_t>(tid)) << e.probe_source;
  }
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessNetlinkE2E, EmitInitialReportsProcessesRunningBeforeStart) {
  t::TempDir dir;
  const std::string go = dir.file("go");
  const pid_t early = pt::spawn_with_comm("ct-early", go);
  pt::Agent agent("method = \"netlink\"\nemit_initial = true");
  EXPECT_TRUE(agent.await("process.spawned", early, "ct-early")) << agent.err();
  pt::touch(go);
  ASSERT_EQ(t::wait_pid(early), 0);
  EXPECT_TRUE(agent.await("process.exited", early, "ct-early")) << agent.err();
  EXPECT_EQ(agent.count("process.spawned", early), 1u);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessNetlinkE2E, ProcessesRunningBeforeStartAreSilentButTheirExitsKnowTheirNames) {
  t::TempDir dir;
  const std::string go = dir.file("go");
  const pid_t early = pt::spawn_with_comm("ct-quiet", go);
  pt::Agent agent("method = \"netlink\"\nemit_initial = false");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  pt::touch(go);
  ASSERT_EQ(t::wait_pid(early), 0);
  EXPECT_TRUE(agent.await("process.exited", early, "ct-quiet")) << agent.err();
  EXPECT_FALSE(agent.find("process.spawned", early));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessNetlinkE2E, MethodNetlinkFailsStartupWith78WhenRefused) {
  if (!pt::can_unshare_net()) GTEST_SKIP() << "needs root and unshare(1)";
  pt::Agent agent("method = \"netlink\"", {"/usr/bin/unshare", "--net"});
  const auto code = agent.process().wait(std::chrono::seconds(30));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 78);
  EXPECT_NE(agent.err().find("method = \"netlink\": process connector: subscribing "
                             "(PROC_CN_MCAST_LISTEN): Connection refused"),
            std::string::npos)
      << agent.err();
}

TEST(ProcessNetlinkE2E, ExecHandledAfterTheProcessIsGoneStillHasItsNewName) {
  CT_SKIP_UNLESS_ROOT("the agent reads names at exit from taskstats");
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  // Frozen, the agent handles the events only after /bin/true has exited and been reaped, so
  // /proc cannot name it any more: the kernel's exit record must.
  agent.process().signal(SIGSTOP);
  const pid_t pid = pt::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);
  agent.process().signal(SIGCONT);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  EXPECT_TRUE(agent.find("process.exec", pid, "true"));
  EXPECT_TRUE(agent.find("process.exited", pid, "true"));
  EXPECT_EQ(agent.stop(), 0);
}

// context = "full" reads each exec's context the moment it happens: one thread per CPU, pinned
// there, at the lowest real-time priority (root has CAP_SYS_NICE), so that an exec's wake-up
// runs on the exec's own CPU and preempts the new process (exec_workers.hpp). The agent's own
// thread is left alone, and so are the readers with wakeup_priority = "normal"; minimal context
// starts none.
TEST(ProcessNetlinkE2E, FullContextReadsExecsWithARealTimeThreadPinnedToEachCpu) {
  struct Threads {
    int main_policy = -1;
    // Threads other than the agent's own that are pinned to one CPU (a sanitizer's runtime may
    // add a thread of its own, not pinned), and how many of the others run SCHED_FIFO.
    int readers = 0;
    int realtime = 0;
    std::set<int> pinned_to;  // the one CPU each reader may run on
  };
  const auto threads_of = [](const std::string& options) {
    pt::Agent agent("method = \"netlink\"\n" + options);
    EXPECT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
    Threads t;
    t.main_policy = sched_getscheduler(agent.pid()) & ~SCHED_RESET_ON_FORK;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(agent.pid()) + "/task")) {
      const pid_t tid = std::stoi(task.path().filename().string());
      if (tid == agent.pid()) continue;
      if ((sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK) == SCHED_FIFO) ++t.realtime;
      cpu_set_t set;
      CPU_ZERO(&set);
      if (sched_getaffinity(tid, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1) {
        ++t.readers;
        for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
          if (CPU_ISSET(cpu, &set)) t.pinned_to.insert(cpu);
        }
      }
    }
    EXPECT_EQ(agent.stop(), 0);
    return t;
  };
  const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  const Threads full = threads_of("context = \"full\"");
  EXPECT_EQ(full.main_policy, SCHED_OTHER);
  EXPECT_EQ(full.readers, cpus);
  EXPECT_EQ(full.realtime, cpus);
  EXPECT_EQ(static_cast<int>(full.pinned_to.size()), cpus);  // one on each CPU
  const Threads normal = threads_of("context = \"full\"\nwakeup_priority = \"normal\"");
  EXPECT_EQ(normal.readers, cpus);
  EXPECT_EQ(normal.realtime, 0);
  const Threads minimal = threads_of("context = \"minimal\"");
  EXPECT_EQ(minimal.main_policy, SCHED_OTHER);
  EXPECT_EQ(minimal.readers, 0);
}

// Allowed on one CPU only (taskset), the agent cannot have a reader on every CPU: an exec on the
// other would wake nobody. One reader then, the agent's own thread at real-time priority, with
// one warning saying so; execs are still read.
TEST(ProcessNetlinkE2E, AnAgentNotAllowedOnEveryCpuReadsExecsWithOneThread) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  pt::Agent agent("method = \"netlink\"\nemit_initial = false\ncontext = \"full\"",
                  {"/usr/bin/taskset", "-c", "0"});
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  EXPECT_EQ(sched_getscheduler(agent.pid()) & ~SCHED_RESET_ON_FORK, SCHED_FIFO);
  int readers = 0;  // other threads at real-time priority (a sanitizer's own one is not)
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(agent.pid()) + "/task")) {
    const pid_t tid = std::stoi(task.path().filename().string());
    if (tid != agent.pid() && (sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK) == SCHED_FIFO) {
      ++readers;
    }
  }
  const pid_t pid = pt::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  const auto exec = agent.find("process.exec", pid);
  EXPECT_EQ(agent.stop(), 0);
  EXPECT_EQ(readers, 0);
  ASSERT_TRUE(exec);
  EXPECT_NE(agent.err().find("may not run on every online CPU"), std::string::npos) << agent.err();
}
