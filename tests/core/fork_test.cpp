// --fork: the parent returns only once the agent is observing, or with the reason it is not.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

class Fork : public ::testing::Test {
 protected:
  // The forked agent is orphaned when its parent exits; as subreaper this test inherits it and
  // can reap it, so nothing is left running and its exit code can be checked.
  void SetUp() override { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void TearDown() override { prctl(PR_SET_CHILD_SUBREAPER, 0); }

  std::string config(const std::string& probe_extra = "") {
    return dir.write("agent.toml",
                     "[[probes.scripted]]\nevents = ['a.b seq x']\ninterval_ms = 5\n"
                     "burst = 1\n" +
                         probe_extra + "[[sinks.capture]]\npath = \"" + dir.file("c") + "\"\n");
  }
  t::TempDir dir;
};

pid_t pid_from(const std::string& err) {
  const std::string_view marker = "agent running as pid ";
  const size_t at = err.find(marker);
  if (at == std::string::npos) return -1;
  const size_t end = err.find_first_not_of("0123456789", at + marker.size());
  const auto pid = t::number_after(std::string_view(err).substr(at, end - at), marker);
  return pid ? static_cast<pid_t>(*pid) : -1;
}

TEST_F(Fork, ParentExits0OnceTheAgentRunsAndTheAgentKeepsRunning) {
  const auto o = t::run_agent({"--fork", "--config", config(), "--plugin-dir", t::fixture_dir()});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const pid_t agent = pid_from(o.err);
  ASSERT_GT(agent, 0) << o.err;
  EXPECT_TRUE(t::eventually([&] { return t::read_captured(dir.file("c")).size() >= 3; }));
  kill(agent, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(Fork, WorksWithAnEmptyEnvironment) {
  t::ChildProcess p({"/usr/bin/env", "-i", t::agent_path(), "--fork", "--config", config(),
                     "--plugin-dir", t::fixture_dir()},
                    dir);
  ASSERT_EQ(p.wait(20s), 0) << p.err();
  const pid_t agent = pid_from(p.err());
  ASSERT_GT(agent, 0);
  EXPECT_TRUE(t::eventually([&] { return !t::read_captured(dir.file("c")).empty(); }));
  kill(agent, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(Fork, ConfigErrorIsTheParentsExitCode) {
  const std::string cfg =
      dir.write("bad.toml", "[[probes.scripted]]\nburst = 0\n[[sinks.capture]]\n");
  const auto o = t::run_agent({"--fork", "--config", cfg, "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("bad.toml:2:9: 'burst' = 0 is out of range"), std::string::npos) << o.err;
}

TEST_F(Fork, ProbeThatFailsToStartIsTheParentsError) {
  const std::string cfg =
      dir.write("bad.toml", "[[probes.thrower]]\nwhen = \"start\"\n[[sinks.capture]]\n");
  const auto o = t::run_agent({"--fork", "--config", cfg, "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("cannot start: thrower: refusing to start"), std::string::npos) << o.err;
}

TEST_F(Fork, NotReadyInTimeExits70AndLeavesNothingRunning) {
  const std::string cfg = dir.write("slow.toml",
                                    "[[probes.thrower]]\nwhen = \"never\"\nblock_start_ms = 5000\n"
                                    "[[sinks.capture]]\n");
  const auto o = t::run_agent(
      {"--fork", "--ready-timeout-ms", "100", "--config", cfg, "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(o.exit_code, 70);
  EXPECT_NE(o.err.find("did not report ready within 100 ms; stopped it"), std::string::npos)
      << o.err;
}

TEST_F(Fork, BadTimeoutIsACommandLineError) {
  EXPECT_EQ(t::run_agent({"--fork", "--ready-timeout-ms", "soon"}).exit_code, 64);
}

}  // namespace
