// The real agent with its console stalled: stderr (and stdout) on a pipe nobody reads, as a
// serial console nobody drains or a Firecracker stdout nobody consumes. Logging must never block
// the event loop: frames keep flowing, SIGTERM still exits 0 within shutdown_timeout_ms plus a
// margin, log lines that did not fit are dropped whole and counted, and once the console drains
// one line says how many.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <sstream>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

// A Unix listener standing in for the host; counts the frames (u32 LE length + body) it receives.
struct Host {
  int listener = -1, conn = -1;
  std::string pending;
  size_t frames = 0;
  explicit Host(const std::string& path) {
    listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    if (bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listener, 4) != 0) {
      throw std::runtime_error("cannot listen on " + path);
    }
  }
  ~Host() {
    for (int fd : {listener, conn}) {
      if (fd >= 0) close(fd);
    }
  }
  // Accepts the agent's connection if it came, reads what arrived; returns the frame count.
  size_t poll_frames() {
    if (conn < 0) {
      pollfd p{listener, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) return frames;
      conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn < 0) return frames;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(conn, buf, sizeof buf)) > 0) pending.append(buf, static_cast<size_t>(n));
    size_t at = 0;
    while (pending.size() - at >= 4) {
      uint32_t len = 0;
      for (int i = 3; i >= 0; --i) len = len << 8 | static_cast<uint8_t>(pending[at + i]);
      if (pending.size() - at - 4 < len) break;
      at += 4 + len;
      ++frames;
    }
    pending.erase(0, at);
    return frames;
  }
};

std::string stalling_config(const std::string& sinks) {
  // Endless: 20 events (and so 20 log lines) per millisecond, until SIGTERM.
  return "[agent]\nheartbeat_interval_ms = 0\nshutdown_timeout_ms = 500\n"
         "[[probes.scripted]]\nevents = ['a.b seq x']\ninterval_ms = 1\nburst = 20\n"
         "log_each = true\n" +
         sinks;
}

std::vector<std::string> argv_for(const std::string& config) {
  return t::agent_argv(config, {"--plugin-dir", t::fixture_dir()});
}

TEST(ConsoleStall, SigtermExitsWithinTheShutdownTimeoutWithStdoutAndStderrOnOneUnreadPipe) {
  t::TempDir dir;
  t::ConsolePipe console;
  t::ChildProcess agent(
      argv_for(dir.write("a.toml", stalling_config("[[sinks.stdout]]\nformat = \"json\"\n"))),
      console.write_end(), console.write_end());
  ASSERT_TRUE(t::eventually([&] { return console.full(); })) << "the agent never filled the pipe";
  const auto start = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  // shutdown_timeout_ms = 500; the deadline is generous for a loaded 2-core machine, and a hang
  // (the agent stuck writing to the pipe) never meets it.
  const auto code = agent.wait(5s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ASSERT_TRUE(code.has_value()) << "SIGTERM did not stop the agent within 5 s";
  EXPECT_EQ(*code, 0);
  std::cout << "[ sigterm  ] both std streams on one full, unread pipe: exit " << *code << " after "
            << ms << " ms (shutdown_timeout_ms = 500)\n";
}

// A pseudo-terminal nobody reads stands in for a stalled serial console: its output buffer
// fills and a blocking writer waits for ever.
TEST(ConsoleStall, SigtermExitsWithinTheShutdownTimeoutWithStdoutAndStderrOnAStalledTerminal) {
  const int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(grantpt(master), 0);
  ASSERT_EQ(unlockpt(master), 0);
  const std::string slave_path = ptsname(master);
  const int slave = open(slave_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  const int probe = open(slave_path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(slave, 0);
  ASSERT_GE(probe, 0);
  t::TempDir dir;
  t::ChildProcess agent(
      argv_for(dir.write("a.toml", stalling_config("[[sinks.stdout]]\nformat = \"text\"\n"))),
      slave, slave);
  ASSERT_TRUE(t::eventually([&] { return write(probe, "\n", 1) < 0 && errno == EAGAIN; }))
      << "the agent never filled the terminal";
  const auto start = std::chrono::steady_clock::now();
  agent.signal(SIGTERM);
  const auto code = agent.wait(5s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  for (int fd : {master, slave, probe}) close(fd);
  ASSERT_TRUE(code.has_value()) << "SIGTERM did not stop the agent within 5 s";
  EXPECT_EQ(*code, 0);
  std::cout << "[ sigterm  ] both std streams on a full, unread terminal: exit " << *code
            << " after " << ms << " ms (shutdown_timeout_ms = 500)\n";
}

TEST(ConsoleStall, FramesKeepFlowingWhileTheConsoleIsStalled) {
  t::TempDir dir;
  Host host(dir.file("host.sock"));
  t::ConsolePipe console;
  t::ChildProcess agent(
      argv_for(dir.write("a.toml", stalling_config("[[sinks.vsock]]\naddress = "
                                                   "\"unix:" +
                                                   dir.file("host.sock") + "\"\n"))),
      console.write_end(), console.write_end());
  ASSERT_TRUE(t::eventually([&] {
    host.poll_frames();
    return console.full();
  })) << "the agent never filled the pipe";
  const size_t at_stall = host.poll_frames();
  ASSERT_TRUE(t::eventually([&] { return host.poll_frames() >= at_stall + 1000; }))
      << "frames stopped while the console was stalled: " << at_stall << " then " << host.frames;
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(5s), 0);
}

TEST(ConsoleStall, DroppedLogLinesAreCountedOnceTheConsoleDrains) {
  t::TempDir dir;
  t::ConsolePipe console;
  t::ChildProcess agent(
      argv_for(dir.write("a.toml",
                         stalling_config("[[sinks.capture]]\npath = \"" + dir.file("c") + "\"\n"))),
      console.write_end(), console.write_end());
  ASSERT_TRUE(t::eventually([&] { return console.full(); })) << "the agent never filled the pipe";
  // Now the console drains, as a console does when its reader comes back.
  std::string text;
  ASSERT_TRUE(t::eventually([&] {
    text += console.drain();
    const size_t at = text.find(" log line(s) dropped");
    return at != std::string::npos && text.find("emitted a.b", at) != std::string::npos;
  })) << text.substr(text.size() > 2000 ? text.size() - 2000 : 0);
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(5s), 0);
  console.close_write_ends();
  text += console.drain();

  // Every line is whole: a log line of the agent's, or an empty line the pipe probe added.
  // And the notice stands exactly where the lines are missing, saying how many.
  uint64_t dropped = 0;
  std::istringstream in(text);
  std::string line;
  uint64_t last = 0;
  bool notice_seen = false, gap_expected = false;
  size_t lines = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    ASSERT_EQ(line.rfind("cellos-telemetry: ", 0), 0u) << "torn line: " << line;
    const size_t notice_at = line.find(" log line(s) dropped");
    const auto notice_count =
        notice_at == std::string::npos
            ? std::nullopt
            : t::number_after(line.substr(0, notice_at), "cellos-telemetry: warning: ");
    if (!notice_seen && notice_count) {
      notice_seen = true;
      dropped = *notice_count;
      EXPECT_GT(dropped, 0u);
      gap_expected = true;
      continue;
    }
    if (const auto emitted =
            t::number_after(line, "cellos-telemetry: info: probes.scripted[0]: emitted a.b ")) {
      const uint64_t seq = *emitted;
      if (gap_expected) {
        EXPECT_EQ(seq, last + dropped + 1) << "the count is not the gap";
        gap_expected = false;
      } else if (!notice_seen) {
        ASSERT_EQ(seq, last + 1) << "a line went missing before the notice";
      }
      last = seq;
    }
  }
  EXPECT_TRUE(notice_seen);
  EXPECT_GT(lines, 100u);
}

}  // namespace
