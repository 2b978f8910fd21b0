// The process connector against the real kernel (needs root, as the agent does in a guest).
#include "proc_connector.hpp"

#include <cellos/telemetry/clock.hpp>

#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "e2e_support.hpp"
#include "exec_trigger.hpp"

namespace cp = cellos::telemetry::process;
using cp::ProcEvent;
using Kind = cp::ProcEvent::Kind;

namespace {

// Drains until pred holds for some event or the deadline passes.
template <class Pred>
bool drain_until(cp::ProcConnector& c, Pred pred, std::vector<ProcEvent>* seen = nullptr) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  bool found = false;
  while (!found && std::chrono::steady_clock::now() < end) {
    c.drain(
        [&](const ProcEvent& e) {
          if (seen) seen->push_back(e);
          found = found || pred(e);
        },
        1u << 20);
    if (found) break;
    pollfd p{c.fd(), POLLIN, 0};
    poll(&p, 1, 100);  // until the kernel queues more (or a short timeout, to see the deadline)
  }
  return found;
}

}  // namespace

namespace {

using cellos::telemetry::monotonic_ns;

}  // namespace

// The tracker proves whose process a /proc read is about from these instants.
TEST(ProcessConnector, EventsCarryTheInstantTheKernelSentThemOnClockMonotonic) {
  cp::ProcConnector c(1 << 20);
  const uint64_t before = monotonic_ns();
  const pid_t pid = cp::testing::run_true();
  ASSERT_EQ(cellos::telemetry::testing::wait_pid(pid), 0);
  const uint64_t after = monotonic_ns();
  const auto p = static_cast<uint32_t>(pid);
  std::vector<ProcEvent> seen;
  ASSERT_TRUE(drain_until(
      c, [&](const ProcEvent& e) { return e.kind == Kind::kExit && e.pid == p; }, &seen));
  size_t checked = 0;
  for (const auto& e : seen) {
    if (e.pid != p) continue;
    EXPECT_GE(e.timestamp_ns, before);
    EXPECT_LE(e.timestamp_ns, after);
    ++checked;
  }
  EXPECT_EQ(checked, 3u);
}

TEST(ProcessConnector, SeesForkExecAndExitOfAChild) {
  cp::ProcConnector c(1 << 20);
  EXPECT_GE(c.receive_buffer(), 1u << 20);
  const pid_t pid = cp::testing::run_true();
  ASSERT_EQ(cellos::telemetry::testing::wait_pid(pid), 0);
  const auto p = static_cast<uint32_t>(pid);
  std::vector<ProcEvent> seen;
  ASSERT_TRUE(drain_until(
      c, [&](const ProcEvent& e) { return e.kind == Kind::kExit && e.pid == p; }, &seen));
  std::vector<Kind> kinds;
  for (const auto& e : seen) {
    if (e.pid == p && e.tgid == p) kinds.push_back(e.kind);
  }
  EXPECT_EQ(kinds, (std::vector<Kind>{Kind::kFork, Kind::kExec, Kind::kExit}));
  for (const auto& e : seen) {
    if (e.kind == Kind::kFork && e.pid == p) {
      EXPECT_EQ(e.parent_tgid, static_cast<uint32_t>(getpid()));
    }
  }
}

TEST(ProcessConnector, ThreadCreationCarriesTheCreatorsThreadGroup) {
  cp::ProcConnector c(1 << 20);
  std::atomic<pid_t> tid{0};
  std::thread([&] { tid = static_cast<pid_t>(syscall(SYS_gettid)); }).join();
  const auto me = static_cast<uint32_t>(getpid());
  ASSERT_TRUE(drain_until(c, [&](const ProcEvent& e) {
    return e.kind == Kind::kFork && e.pid == static_cast<uint32_t>(tid.load()) && e.tgid == me;
  }));
}

TEST(ProcessConnector, OverflowIsReportedAndCounted) {
  cp::ProcConnector c(1024);  // the kernel's floor: room for about two events
  for (int i = 0; i < 50; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
  }
  const auto d = c.drain([](const ProcEvent&) {}, 1u << 20);
  EXPECT_TRUE(d.overflowed);
  EXPECT_TRUE(d.emptied);
  const auto dropped = c.take_dropped();
  ASSERT_TRUE(dropped);
  EXPECT_GE(*dropped, 90u);  // 100 events of which at most a few fit
}

TEST(ProcessConnector, RefusedOutsideTheInitialNetworkNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to unshare the network namespace";
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(2);
    try {
      cp::ProcConnector c(1 << 20);
    } catch (const std::system_error& e) {
      _exit(e.code().value() == ECONNREFUSED ? 0 : 3);
    }
    _exit(1);
  }
  EXPECT_EQ(cellos::telemetry::testing::wait_pid(pid), 0)
      << "1: subscribed anyway, 2: unshare failed, 3: another error";
}

// The exec-only socket: the kernel filters everything else out before it is queued.
TEST(ProcessExecTrigger, CarriesOnlyExecEventsWithTheirTimestamps) {
  cp::ProcConnector main_socket(1 << 20);  // subscribes: without a listener no event is sent
  cp::ExecTrigger trigger;
  const uint64_t before = monotonic_ns();
  const pid_t pid = cp::testing::run_true();
  ASSERT_EQ(cellos::telemetry::testing::wait_pid(pid), 0);
  // The main socket sees the fork, exec and exit; the trigger only the exec.
  ASSERT_TRUE(drain_until(main_socket, [&](const ProcEvent& e) {
    return e.kind == Kind::kExit && e.tgid == uint32_t(pid);
  }));
  std::vector<std::pair<uint32_t, uint64_t>> execs;
  size_t datagrams = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    datagrams += trigger.drain(
        [&](uint32_t tgid, uint64_t when) { execs.emplace_back(tgid, when); }, 1u << 20);
    bool ours = false;
    for (const auto& [tgid, when] : execs) ours = ours || tgid == uint32_t(pid);
    if (ours) break;
    pollfd p{trigger.fd(), POLLIN, 0};
    poll(&p, 1, 100);
  }
  // Every datagram that came through was an exec (other tests' processes may exec too).
  EXPECT_EQ(datagrams, execs.size());
  bool ours = false;
  for (const auto& [tgid, when] : execs) {
    if (tgid != uint32_t(pid)) continue;
    ours = true;
    EXPECT_GE(when, before);
    EXPECT_LE(when, monotonic_ns());
  }
  EXPECT_TRUE(ours);
}

namespace {

// A /bin/true exec'd on the given CPU only (pinned before its exec); its pid.
pid_t true_on_cpu(int cpu) {
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(126);
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// The execs of tgid a trigger holds within a second: each of the other tests' too, drained.
bool trigger_saw(cp::ExecTrigger& trigger, pid_t pid) {
  bool seen = false;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!seen && std::chrono::steady_clock::now() < end) {
    trigger.drain([&](uint32_t tgid, uint64_t) { seen = seen || tgid == uint32_t(pid); }, 1u << 20);
    pollfd p{trigger.fd(), POLLIN, 0};
    if (!seen) poll(&p, 1, 50);
  }
  return seen;
}

}  // namespace

// A trigger for one CPU (exec_workers.hpp) carries the execs that happen on that CPU, and no
// other CPU's: the kernel's filter reads proc_event.cpu, the CPU the exec'ing task sent from.
TEST(ProcessExecTrigger, ForOneCpuCarriesOnlyThatCpusExecs) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs two CPUs";
  cp::ProcConnector main_socket(1 << 20);
  cp::ExecTrigger on0(0), on1(1);
  const pid_t first = true_on_cpu(0);
  ASSERT_EQ(cellos::telemetry::testing::wait_pid(first), 0);
  EXPECT_TRUE(trigger_saw(on0, first));
  EXPECT_FALSE(trigger_saw(on1, first));
  const pid_t second = true_on_cpu(1);
  ASSERT_EQ(cellos::telemetry::testing::wait_pid(second), 0);
  EXPECT_TRUE(trigger_saw(on1, second));
  EXPECT_FALSE(trigger_saw(on0, second));
}
