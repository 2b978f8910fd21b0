// End to end: the real agent, the scripted probe fixture and this sink.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>

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

// Issue 15: the JSON lines are numbered like the vsock sink's frames, consecutive from 1.
TEST(StdoutSink, JsonLinesCarrySeqConsecutiveFromOne) {
  t::TempDir dir;
  t::ChildProcess agent(
      t::agent_argv(dir.write("a.toml", config("json", 6)), {"--plugin-dir", t::fixture_dir()}),
      dir);
  ASSERT_TRUE(t::eventually([&] { return t::parse_json_lines(agent.out()).size() >= 6; }));
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(std::chrono::seconds(10)), 0);
  const auto lines = t::parse_json_lines(agent.out());
  ASSERT_EQ(lines.size(), 6u) << agent.out();
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(lines[i].contains("seq")) << agent.out();
    EXPECT_EQ(lines[i].at("seq"), std::to_string(i + 1)) << agent.out();
  }
  EXPECT_NE(agent.out().find("\"guest_monotonic_ns\":"), std::string::npos);
  // Where the vsock sink's frames have it: right after the five wire keys (here four).
  const std::string first = agent.out().substr(0, agent.out().find('\n'));
  EXPECT_NE(first.find(",\"seq\":1}"), std::string::npos) << first;
  EXPECT_LT(first.find("guest_monotonic_ns"), first.find("\"seq\""));
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
  EXPECT_NE(agent.out().find("process.spawned      pid 1       comm w\"eird\\x0a\n"),
            std::string::npos)
      << agent.out();
}

TEST(StdoutSink, ClosedStdoutDoesNotKillTheAgent) {
  t::TempDir dir;
  const std::string cfg = dir.write("a.toml", config("json", 0));  // endless stream
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  const std::string err_path = dir.file("stderr");
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(err_fd, 0);
  t::ChildProcess agent(t::agent_argv(cfg, {"--plugin-dir", t::fixture_dir()}), fds[1], err_fd);
  close(fds[1]);
  close(err_fd);
  char buf[256];
  ASSERT_GT(read(fds[0], buf, sizeof buf), 0);  // it is writing
  close(fds[0]);                                // and now nobody reads
  // The sink's next write fails with EPIPE (not SIGPIPE) and says so: the agent lived past it.
  EXPECT_TRUE(t::eventually([&] {
    return t::read_file(err_path).find("cannot write to stdout: Broken pipe") != std::string::npos;
  })) << t::read_file(err_path);
  EXPECT_TRUE(agent.running()) << "agent died with a closed stdout";
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(std::chrono::seconds(10)), 0) << t::read_file(err_path);
}

// JSON lines and log lines sharing one output, as with `cellos-telemetry > FILE 2>&1`: every
// line must be a whole JSON object or a whole log line, and none may be missing.
void expect_whole_lines(const std::string& text, int total) {
  std::istringstream in(text);
  std::string line;
  int json = 0, logged = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;  // the pipe probe's newlines (ConsolePipe::full)
    const auto objects = t::parse_json_lines(line);
    if (objects.size() == 1 && line.back() == '}') {
      ++json;
      EXPECT_EQ(objects[0].at("guest_pid"), std::to_string(json)) << line;
      continue;
    }
    ASSERT_TRUE(t::is_agent_log_line(line)) << "neither JSON nor a log line: " << line;
    const auto n =
        t::number_after(line, "cellos-telemetry: info: probes.scripted[0]: emitted a.b ");
    if (n) {
      EXPECT_EQ(*n, static_cast<uint64_t>(++logged));
    }
  }
  EXPECT_EQ(json, total);
  EXPECT_EQ(logged, total);
}

std::string logging_config(int total) {
  return "[agent]\nheartbeat_interval_ms = 0\n[[probes.scripted]]\nevents = ['a.b seq x']\n"
         "interval_ms = 1\nburst = 10\nlog_each = true\ntotal = " +
         std::to_string(total) + "\n[[sinks.stdout]]\nformat = \"json\"\n";
}

TEST(StdoutSink, SharedFileWithStderrKeepsEveryLineWhole) {
  t::TempDir dir;
  const std::string path = dir.file("out");
  // As the shell opens `> FILE 2>&1`: one description, truncated, not appending.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  constexpr int kTotal = 500;
  t::ChildProcess agent(t::agent_argv(dir.write("a.toml", logging_config(kTotal)),
                                      {"--plugin-dir", t::fixture_dir()}),
                        fd, fd);
  close(fd);
  // Both the last JSON line and the last log line are out (if the file is intact, that is).
  t::eventually([&] {
    const std::string text = t::read_file(path);
    return text.find("\"guest_pid\":" + std::to_string(kTotal) + ",") != std::string::npos &&
           text.find("emitted a.b " + std::to_string(kTotal) + "\n") != std::string::npos;
  });
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(std::chrono::seconds(10)), 0);
  expect_whole_lines(t::read_file(path), kTotal);
}

TEST(StdoutSink, SharedPipeWithStderrKeepsEveryLineWholeThroughAStall) {
  t::TempDir dir;
  t::ConsolePipe console;
  constexpr int kTotal = 20000;  // well beyond what the pipe and the agent's buffers hold
  t::ChildProcess agent(t::agent_argv(dir.write("a.toml", logging_config(kTotal)),
                                      {"--plugin-dir", t::fixture_dir()}),
                        console.write_end(), console.write_end());
  ASSERT_TRUE(t::eventually([&] { return console.full(); }));
  std::string text;
  t::eventually([&] {
    text += console.drain();
    return text.find("\"guest_pid\":" + std::to_string(kTotal) + ",") != std::string::npos;
  });
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(std::chrono::seconds(10)), 0);
  console.close_write_ends();
  text += console.drain();
  // Lines may be missing here (the stall made the agent drop log lines, and the queue may drop
  // events with a count), but none may be torn.
  std::istringstream in(text);
  std::string line;
  size_t json = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (t::parse_json_lines(line).size() == 1 && line.back() == '}') {
      ++json;
      continue;
    }
    ASSERT_TRUE(t::is_agent_log_line(line)) << "torn line: " << line;
  }
  EXPECT_GT(json, 0u);
}

}  // namespace
