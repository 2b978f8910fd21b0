// The receiver at the edges of its resources: at its file-descriptor limit with idle peers, and
// with stdout on a pipe nobody reads. Each runs the real binary, started by hand here (not by
// the harness) so that the child gets a low RLIMIT_NOFILE or a pipe for stdout before exec.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "frame_encoder.hpp"
#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

std::string frame(uint32_t pid) {
  return wire::encode_frame(
      ct_event{sizeof(ct_event), "process.spawned", pid, "sh", 1000 + pid, nullptr, 0});
}

// A frame whose JSON line is longer than a pipe page (4096 bytes): any write of it to a pipe
// that holds less is partial, so a receiver that found its pipe full is exactly at capacity.
std::string long_frame(uint32_t pid) {
  std::string body;
  const auto head = [&body](int major, uint64_t v) {
    const auto m = static_cast<char>(major << 5);
    if (v < 24) {
      body.push_back(static_cast<char>(m | static_cast<char>(v)));
    } else if (v <= 0xFF) {
      body += {static_cast<char>(m | 24), static_cast<char>(v)};
    } else {
      body += {static_cast<char>(m | 25), static_cast<char>(v >> 8), static_cast<char>(v)};
    }
  };
  const auto text = [&](const std::string& s) {
    head(3, s.size());
    body += s;
  };
  head(5, 6);
  text("content_version");
  head(0, 0x0101);
  text("probe_source");
  text("process.spawned");
  text("guest_pid");
  head(0, 0);
  body.back() = static_cast<char>(0x1A);  // pid as a 4-byte integer, shortest above 0xFFFF
  for (int s = 24; s >= 0; s -= 8) body.push_back(static_cast<char>((pid + 0x10000) >> s));
  text("guest_comm");
  text("sh");
  text("guest_monotonic_ns");
  head(0, 1);
  text("note");
  text(std::string(3000, '"'));  // 6000 bytes once escaped
  std::string f(4, '\0');
  for (int i = 0; i < 4; ++i) f[static_cast<size_t>(i)] = static_cast<char>(body.size() >> 8 * i);
  return f + body;
}

// cellos-telemetry-recv with stderr to a file, stdout to a given fd, and optionally a lower
// RLIMIT_NOFILE, set in the child before exec. The destructor SIGKILLs it (by pid) if needed.
class Recv {
 public:
  Recv(const t::TempDir& dir, std::vector<std::string> extra, int stdout_fd,
       std::optional<rlim_t> nofile = std::nullopt)
      : socket_(dir.file("vm.vsock_9001")), err_path_(dir.file("recv.err")) {
    std::vector<std::string> argv = {t::recv_path(), "--listen", "unix:" + socket_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = fork();
    if (pid_ == 0) {
      if (nofile) {
        const rlimit r{*nofile, *nofile};
        if (setrlimit(RLIMIT_NOFILE, &r) != 0) _exit(120);
      }
      dup2(stdout_fd, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      execv(args[0], args.data());
      _exit(127);
    }
    close(err);
  }
  ~Recv() {
    if (!reaped_ && pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Recv(const Recv&) = delete;
  Recv& operator=(const Recv&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  std::string err() const { return t::read_file(err_path_); }
  bool listening() const { return err().find("listening on unix:") != std::string::npos; }

  // The exit code, or nullopt if it is still running after timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

  // User plus system CPU time so far, in clock ticks (/proc/PID/stat fields 14 and 15).
  long cpu_ticks() const {
    const std::string stat = t::read_file("/proc/" + std::to_string(pid_) + "/stat");
    std::istringstream in(stat.substr(stat.rfind(')') + 2));
    std::vector<std::string> fields;
    for (std::string f; in >> f;) fields.push_back(f);
    return fields.size() > 12 ? std::stol(fields[11]) + std::stol(fields[12]) : -1;
  }

 private:
  std::string socket_, err_path_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

size_t lines(const std::string& text) {
  return t::count_occurrences(text, "\n");
}

// Idle peers hold every descriptor the receiver may open. It must neither spin on the listener
// nor write a line per failed accept, and once the idle peers time out the next peer is served.
TEST(RecvLimits, AtTheFdLimitItNeitherSpinsNorFloodsAndServesAfterIdlePeersTimeOut) {
  t::TempDir dir;
  const int out = open(dir.file("recv.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(out, 0);
  // 12 descriptors: stdio, epoll, signalfd, the listener and stdout's own leave about 5 for
  // peers. An idle timeout well beyond the measuring window below, and short for a test.
  Recv recv(dir, {"--idle-timeout-s", "3"}, out, 12);
  close(out);
  ASSERT_TRUE(t::eventually([&] { return recv.listening(); })) << recv.err();

  constexpr int kIdle = 10;  // more than the receiver can hold at once
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(t::connect_unix(recv.socket()));
    ASSERT_GE(idle.back(), 0);
  }
  // Queued behind the idle ones: its frame waits in the socket until it is accepted.
  const int late = t::connect_unix(recv.socket());
  ASSERT_GE(late, 0);
  ASSERT_TRUE(t::send_all(late, frame(4242)));
  ASSERT_TRUE(t::eventually([&] {
    return recv.err().find("Too many open files") != std::string::npos;
  })) << recv.err();

  const long ticks_per_s = sysconf(_SC_CLK_TCK);
  const long before = recv.cpu_ticks();
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);  // a span to measure, not a synchronisation
  const long used = recv.cpu_ticks() - before;
  const double elapsed_ticks =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() *
      static_cast<double>(ticks_per_s);
  EXPECT_LT(static_cast<double>(used), 0.2 * elapsed_ticks)
      << "the receiver used " << used << " of " << elapsed_ticks << " clock ticks at its fd limit";
  EXPECT_LT(recv.err().size(), 4096u) << recv.err().substr(0, 2000);
  EXPECT_LE(t::count_occurrences(recv.err(), "Too many open files"), 1u)
      << recv.err().substr(0, 2000);

  // The idle peers are closed after 3 s without a byte; then the late peer gets its turn.
  EXPECT_TRUE(t::eventually(
      [&] { return t::parse_wire_lines(t::read_file(dir.file("recv.out"))).size() == 1; }, 30s))
      << recv.err().substr(0, 4000);
  EXPECT_NE(recv.err().find("idle for 3 s"), std::string::npos) << recv.err().substr(0, 4000);
  for (const int fd : idle) {
    EXPECT_TRUE(t::peer_closed(fd, 30s));
    close(fd);
  }
  close(late);
  // Every episode at the limit is one line when it starts and one when it ends, with a count.
  const std::string err = recv.err();
  EXPECT_EQ(t::count_occurrences(err, "Too many open files"),
            t::count_occurrences(err, "accepting again on unix:"))
      << err;
  EXPECT_LT(lines(err), 4u * (kIdle + 1) + 12) << err;

  kill(recv.pid(), SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0) << recv.err();
}

size_t pipe_bytes(int read_end) {
  int n = 0;
  return ioctl(read_end, FIONREAD, &n) == 0 ? static_cast<size_t>(n) : 0;
}

// stdout on a pipe that is never read: the receiver stops taking frames off its sockets, still
// accepts peers and serves signals, and exits at once on SIGTERM, saying what it could not write.
TEST(RecvLimits, BlockedStdoutStillAcceptsAndExitsPromptlyOnSigterm) {
  t::TempDir dir;
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  const int capacity = fcntl(p[1], F_SETPIPE_SZ, 4096);
  ASSERT_GT(capacity, 0);
  Recv recv(dir, {}, p[1]);
  close(p[1]);
  ASSERT_TRUE(t::eventually([&] { return recv.listening(); })) << recv.err();

  const int peer = t::connect_unix(recv.socket());
  ASSERT_GE(peer, 0);
  std::string frames;
  for (uint32_t pid = 1; pid <= 20; ++pid) frames += long_frame(pid);
  ASSERT_TRUE(t::send_all(peer, frames));
  // The first line does not fit: the pipe is full to the byte, the receiver has to wait.
  ASSERT_TRUE(t::eventually([&] { return pipe_bytes(p[0]) == static_cast<size_t>(capacity); }));

  const int second = t::connect_unix(recv.socket());
  ASSERT_GE(second, 0);
  ASSERT_TRUE(t::send_all(second, frame(7)));
  EXPECT_TRUE(t::eventually([&] {
    return recv.err().find("connection #2 (pid") != std::string::npos;
  })) << recv.err();

  const auto sent = std::chrono::steady_clock::now();
  kill(recv.pid(), SIGTERM);
  const auto code = recv.wait(5s);
  ASSERT_TRUE(code.has_value()) << "still running 5 s after SIGTERM; stderr:\n" << recv.err();
  const auto took = std::chrono::steady_clock::now() - sent;
  EXPECT_EQ(*code, 75) << recv.err();
  EXPECT_NE(recv.err().find("stdout blocked at exit: 1 line cut short"), std::string::npos)
      << recv.err();
  // Nothing was fully written, so nothing was taken off a socket: the agents send it all again.
  EXPECT_NE(recv.err().find("frames 0, bytes 0, rejected 0, connections 2"), std::string::npos)
      << recv.err();
  std::cerr << "SIGTERM to exit with stdout blocked: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  close(peer);
  close(second);
  close(p[0]);
}

// A reader that falls behind and catches up: every frame is printed exactly once, whole, and
// in order per connection, however the writes were cut.
TEST(RecvLimits, SlowReaderGetsEveryLineOnceAndWhole) {
  t::TempDir dir;
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  ASSERT_GT(fcntl(p[1], F_SETPIPE_SZ, 4096), 0);
  Recv recv(dir, {}, p[1]);
  close(p[1]);
  ASSERT_TRUE(t::eventually([&] { return recv.listening(); })) << recv.err();

  constexpr uint32_t kPeers = 3, kFrames = 60;
  std::vector<int> peers;
  for (uint32_t i = 0; i < kPeers; ++i) {
    peers.push_back(t::connect_unix(recv.socket()));
    ASSERT_GE(peers.back(), 0);
    std::string frames;
    for (uint32_t k = 0; k < kFrames; ++k) {
      const uint32_t pid = 1000 * (i + 1) + k;
      frames += k % 3 == 0 ? long_frame(pid) : frame(pid);
    }
    ASSERT_TRUE(t::send_all(peers.back(), frames));
  }
  // Read slowly, in small pieces, until every line is there.
  std::string out;
  const auto complete = [&] { return t::count_occurrences(out, "\n") == kPeers * kFrames; };
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (!complete() && std::chrono::steady_clock::now() < end) {
    pollfd readable{p[0], POLLIN, 0};
    if (poll(&readable, 1, 1000) != 1) continue;
    char buf[1000];
    const ssize_t n = read(p[0], buf, sizeof buf);
    ASSERT_GT(n, 0);
    out.append(buf, static_cast<size_t>(n));
    std::this_thread::sleep_for(1ms);  // a slow reader, not a synchronisation
  }
  ASSERT_TRUE(complete()) << recv.err();
  const auto got = t::parse_wire_lines(out);
  ASSERT_EQ(got.size(), kPeers * kFrames) << "torn or unparsable lines";
  std::set<uint32_t> seen;
  std::vector<uint32_t> last(kPeers, 0);
  for (const auto& l : got) {
    const uint32_t pid = l.guest_pid >= 0x10000 ? l.guest_pid - 0x10000 : l.guest_pid;
    EXPECT_TRUE(seen.insert(pid).second) << "printed twice: " << pid;
    const uint32_t peer = pid / 1000 - 1;
    ASSERT_LT(peer, kPeers);
    EXPECT_GE(pid, last[peer]) << "out of order";
    last[peer] = pid;
  }
  for (const int fd : peers) close(fd);
  kill(recv.pid(), SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0) << recv.err();
  EXPECT_NE(recv.err().find("frames 180, "), std::string::npos) << recv.err();
  close(p[0]);
}

// stderr on a pipe nobody reads (often the same stalled console as stdout): diagnostics must
// not stop the receiver. Short connections fill the pipe with "opened" and "closed" lines;
// frames still reach stdout, SIGTERM still exits, and once stderr drains the dropped lines are
// counted there.
TEST(RecvLimits, StderrNeverReadDoesNotStopTheReceiver) {
  t::TempDir dir;
  t::ConsolePipe console;
  ASSERT_GT(fcntl(console.write_end(), F_SETPIPE_SZ, 4096), 0);
  const int out = open(dir.file("recv.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(out, 0);
  const std::string socket = dir.file("vm.vsock_9001");
  t::ChildProcess recv({t::recv_path(), "--listen", "unix:" + socket}, out, console.write_end());
  close(out);
  const auto printed = [&] { return t::parse_wire_lines(t::read_file(dir.file("recv.out"))); };
  uint32_t pid = 0;
  const auto one_connection = [&] {
    const int fd = t::connect_unix(socket);
    if (fd < 0) return false;
    const bool sent = t::send_all(fd, frame(++pid));
    close(fd);
    return sent;
  };
  ASSERT_TRUE(t::eventually(one_connection));
  // Two or three lines of stderr per connection; a few dozen fill 4 KiB.
  ASSERT_TRUE(t::eventually([&] { return console.full() || (one_connection() && false); }, 30s));
  const size_t before = printed().size();
  // More than the 64 KiB of diagnostics the receiver keeps waiting: some are dropped.
  constexpr size_t kMore = 600;
  for (size_t i = 0; i < kMore; ++i) ASSERT_TRUE(one_connection());
  EXPECT_TRUE(t::eventually([&] { return printed().size() == before + kMore; }))
      << "frames stopped while stderr was full: " << printed().size() << " of " << before + kMore;
  // Drained, stderr gets the count of what it missed with the next line.
  std::string err = console.drain();
  ASSERT_TRUE(one_connection());
  EXPECT_TRUE(t::eventually([&] {
    err += console.drain();
    return err.find("diagnostic line(s) dropped: stderr was not read") != std::string::npos;
  })) << err;
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0);
}

}  // namespace
