// The real agent polling the real /proc: method = "procfs", and "auto" when netlink is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include "e2e_support.hpp"

namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;

namespace {

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// A process that lives across several sweeps is spawned and exited, under its name.
void expect_long_lived_process_reported(const pt::Agent& agent) {
  t::TempDir dir;
  const std::string go = dir.file("go");
  const pid_t pid = pt::spawn_with_comm("ct-polled", go);
  EXPECT_TRUE(agent.await("process.spawned", pid, "ct-polled")) << agent.err();
  pt::touch(go);
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_TRUE(agent.await("process.exited", pid, "ct-polled")) << agent.err();
  EXPECT_EQ(agent.count("process.spawned", pid), 1u);
  EXPECT_EQ(agent.count("process.exited", pid), 1u);
}

}  // namespace

TEST(ProcessProcfsE2E, PollsProcAndReportsNoExec) {
  pt::Agent agent("method = \"procfs\"\ninterval_ms = 20");
  ASSERT_TRUE(pt::wait_until_observing(agent, true)) << agent.err();
  expect_long_lived_process_reported(agent);
  for (const auto& e : agent.events()) EXPECT_NE(e.probe_source, "process.exec");
  EXPECT_EQ(agent.stop(), 0);
  EXPECT_EQ(occurrences(agent.err(), "warning:") + occurrences(agent.err(), "error:"), 0u)
      << agent.err();
}

TEST(ProcessProcfsE2E, AutoFallsBackToProcfsWithOneWarningWhenNetlinkIsRefused) {
  if (!pt::can_unshare_net()) GTEST_SKIP() << "needs root and unshare(1)";
  pt::Agent agent("method = \"auto\"\ninterval_ms = 20", {"/usr/bin/unshare", "--net"});
  ASSERT_TRUE(pt::wait_until_observing(agent, true)) << agent.err();
  expect_long_lived_process_reported(agent);
  EXPECT_EQ(agent.stop(), 0);
  const std::string err = agent.err();
  EXPECT_EQ(occurrences(err, "warning:"), 1u) << err;
  EXPECT_NE(err.find("netlink unavailable (process connector: subscribing "
                     "(PROC_CN_MCAST_LISTEN): Connection refused); method = \"auto\" falls back "
                     "to polling /proc every 20 ms"),
            std::string::npos)
      << err;
}

TEST(ProcessProcfsE2E, AutoUsesNetlinkWhereItWorks) {
  CT_SKIP_UNLESS_ROOT("the agent reads names at exit from taskstats");
  pt::Agent agent("");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const pid_t pid = pt::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_TRUE(agent.await("process.exec", pid, "true")) << agent.err();  // only netlink sees exec
  EXPECT_EQ(agent.stop(), 0);
  EXPECT_EQ(occurrences(agent.err(), "warning:") + occurrences(agent.err(), "error:"), 0u)
      << agent.err();
}
