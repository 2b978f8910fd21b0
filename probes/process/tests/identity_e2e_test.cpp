// Whose name an event carries, when the probe lags behind the kernel: the agent is frozen
// (SIGSTOP) while processes come and go, so /proc has moved on by the time it handles their
// events. Never attribute one process's data to another; keep the record a late exec needs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <time.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;

namespace {

std::vector<t::Captured> events_of(const pt::Agent& agent, pid_t pid) {
  std::vector<t::Captured> out;
  for (auto& e : agent.events()) {
    if (e.guest_pid == static_cast<uint32_t>(pid)) out.push_back(e);
  }
  return out;
}

// Whether the connector lost events in the kernel (the probe's process.lost).
bool any_lost(const pt::Agent& agent) {
  for (const auto& e : agent.events()) {
    if (e.probe_source == "process.lost") return true;
  }
  return false;
}

// Returns once CLOCK_BOOTTIME has entered the next 10 ms start-time tick (USER_HZ 100).
void next_start_tick() {
  const auto tick = [] {
    timespec ts{};
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec)) /
           (1000000000ull / static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
  };
  const uint64_t now = tick();
  while (tick() == now) {
  }
}

}  // namespace

TEST(ProcessIdentityE2E, ReusedPidNeverGivesTheDeadProcessTheNewOnesName) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (clone3 set_tid)";
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  t::TempDir dir;
  const std::string go = dir.file("go");

  // While the agent is frozen: /bin/true runs, exits and is reaped, and a new process takes
  // its pid. The agent then handles the old process's fork, exec and exit with /proc showing
  // the new one.
  pt::freeze(agent);
  pid_t old_pid = -1, reuser = -1;
  for (int attempt = 0; attempt < 5 && reuser < 0; ++attempt) {
    old_pid = pt::run_true();
    ASSERT_EQ(t::wait_pid(old_pid), 0);
    // The new holder starts in a later start-time tick than the old one: process_id tells two
    // holders of a pid apart by that tick (same-tick reuse is a documented limit, README).
    next_start_tick();
    reuser = pt::spawn_with_comm_at_pid("ct-reuser", old_pid, go);
    ASSERT_TRUE(reuser >= 0 || errno == EEXIST) << std::strerror(errno);
  }
  ASSERT_EQ(reuser, old_pid) << "could not hand the pid on";
  pt::thaw(agent);

  ASSERT_TRUE(agent.await("process.spawned", reuser, "ct-reuser")) << agent.err();
  pt::touch(go);
  ASSERT_EQ(t::wait_pid(reuser), 0);
  ASSERT_TRUE(agent.await("process.exited", reuser, "ct-reuser")) << agent.err();

  // Everything up to the first exit is about /bin/true, the dead process.
  const auto events = events_of(agent, old_pid);
  std::vector<std::string> old_events;
  for (const auto& e : events) {
    old_events.push_back(e.probe_source + " " + e.guest_comm);
    if (e.probe_source == "process.exited") break;
  }
  ASSERT_FALSE(old_events.empty());
  EXPECT_EQ(old_events.front().rfind("process.spawned ", 0), 0u) << old_events.front();
  for (const auto& e : old_events) EXPECT_EQ(e.find("ct-reuser"), std::string::npos) << e;
  EXPECT_EQ(old_events.size(), 3u);
  if (old_events.size() == 3) {
    EXPECT_EQ(old_events[1], "process.exec true");
    EXPECT_EQ(old_events[2], "process.exited true");
  }
  // And the new process is reported as itself, once.
  EXPECT_EQ(agent.count("process.spawned", reuser), 2u);
  EXPECT_EQ(agent.count("process.exited", reuser), 2u);

  // The ledger never mixes the two either: one process_id for each, the dead one's in each of
  // its events; its late exec read nothing of the new holder (which never exec'd, so any exe,
  // argv or cwd on it would be the new one's) and says it raced.
  std::vector<t::Captured> old_process, new_process;
  for (const auto& e : events_of(agent, old_pid)) {
    (old_process.size() < 3 ? old_process : new_process).push_back(e);
  }
  ASSERT_EQ(old_process.size(), 3u);
  ASSERT_EQ(new_process.size(), 2u);
  const auto id_of = [](const t::Captured& e) { return e.extras.at("process_id"); };
  for (const auto& e : old_process) EXPECT_EQ(id_of(e), id_of(old_process[0])) << e.probe_source;
  for (const auto& e : new_process) EXPECT_EQ(id_of(e), id_of(new_process[0])) << e.probe_source;
  EXPECT_NE(id_of(old_process[0]), id_of(new_process[0]));
  const auto& late_exec = old_process[1];
  for (const char* key : {"exe", "argv", "cwd", "uid"}) {
    EXPECT_EQ(late_exec.typed_extras.count(key), 0u) << key;
  }
  EXPECT_EQ(late_exec.typed_extras.count("raced"), 1u);
  // The old process's end is its own: /bin/true's clean exit, not the reuser's.
  EXPECT_EQ(old_process[2].extras.count("exit_code"), 1u);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessIdentityE2E, ExecQueuedBehind1500ExitsKeepsItsNewName) {
  CT_SKIP_UNLESS_ROOT("the agent reads names at exit from taskstats");
  // A queue big enough that the connector loses nothing: this is about the exit records.
  pt::Agent agent("method = \"netlink\"\nreceive_buffer_kib = 65536");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  pt::freeze(agent);
  const pid_t pid = pt::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);
  for (int i = 0; i < 1500; ++i) {
    const pid_t child = fork();
    if (child == 0) _exit(0);
    ASSERT_GT(child, 0);
    waitpid(child, nullptr, 0);
  }
  pt::thaw(agent);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  EXPECT_FALSE(any_lost(agent));
  EXPECT_TRUE(agent.find("process.exec", pid, "true"));
  EXPECT_TRUE(agent.find("process.exited", pid, "true"));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessIdentityE2E, MultiThreadedProcessIsNamedFromItsExitRecord) {
  CT_SKIP_UNLESS_ROOT("the agent reads names at exit from taskstats");
  pt::Agent agent("method = \"netlink\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  // Frozen until the 8-thread process has exited and been reaped: its exec name can only come
  // from the record the kernel sent when its last thread (the leader) exited.
  pt::freeze(agent);
  const pid_t pid = fork();
  if (pid == 0) {
    execl(CT_THREADS_HELPER, "ct-threads", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_EQ(t::wait_pid(pid), 0);
  pt::thaw(agent);
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  EXPECT_TRUE(agent.find("process.exec", pid, "ct-threads"));
  EXPECT_TRUE(agent.find("process.exited", pid, "ct-threads"));
  EXPECT_EQ(agent.stop(), 0);
}
