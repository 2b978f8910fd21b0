// End to end: the real agent, the scripted probe fixture and this sink.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;

namespace {

std::string config(const std::string& format, int total) {
  return "[agent]\nheartbeat_interval_ms = 0\n"
         "[[probes.scripted]]\n"
         "events = ['process.spawned seq w\\x22eird\\x0a', 'process.exited 77 \\xff\\xfe']\n"
         "total = " +
         std::to_string(total) + "\n[[sinks.stdout]]\nformat = \"" + format + "\"\n";
}

TEST(StdoutSink, WritesOneJsonObjectPerEventWithWireKeys) {
  t::TempDir dir;
  t::ChildProcess agent(
      t::agent_argv(dir.write("a.toml", config("json", 4)), {"--plugin-dir", t::fixture_dir()}),
      dir);
  ASSERT_TRUE(t::eventually([&] { return t::parse_json_lines(agent.out()).size() >= 4; }));
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(std::chrono::seconds(10)), 0);
  const auto lines = t::parse_json_lines(agent.out());
  ASSERT_EQ(lines.size(), 4u) << agent.out();
  EXPECT_EQ(lines[0].at("probe_source"), "process.spawned");
  EXPECT_EQ(lines[0].at("guest_pid"), "1");
  EXPECT_EQ(lines[0].at("guest_comm"), "w\"eird\n");
  EXPECT_EQ(lines[1].at("guest_comm"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // repaired by the core
  EXPECT_EQ(lines[1].at("guest_pid"), "77");
  EXPECT_FALSE(lines[1].at("guest_monotonic_ns").empty());
}

TEST(StdoutSink, TextFormatWritesOneLinePerEvent) {
  t::TempDir dir;
  t::ChildProcess agent(
      t::agent_argv(dir.write("a.toml", config("text", 2)), {"--plugin-dir", t::fixture_dir()}),
      dir);
  ASSERT_TRUE(
      t::eventually([&] { return agent.out().find("process.exited") != std::string::npos; }));
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(agent.out().find("process.spawned      pid 1       comm w\"eird?\n"), std::string::npos)
      << agent.out();
}

TEST(StdoutSink, ClosedStdoutDoesNotKillTheAgent) {
  t::TempDir dir;
  const std::string cfg = dir.write("a.toml", config("json", 0));  // endless stream
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    const auto argv = t::agent_argv(cfg, {"--plugin-dir", t::fixture_dir()});
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[256];
  ASSERT_GT(read(fds[0], buf, sizeof buf), 0);  // it is writing
  close(fds[0]);                                // and now nobody reads
  usleep(200000);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), 0) << "agent died with a closed stdout";
  kill(pid, SIGTERM);
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
