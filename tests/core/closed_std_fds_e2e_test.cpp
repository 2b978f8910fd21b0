// The agent started with fds 0, 1 and 2 closed (as a careless init or a daemonising parent may
// leave it). Without care the first descriptors it opens take those numbers, and its log lines
// and stdout writes land in whatever they are: here, the vsock connection to the host, which
// then reads text as a frame length. The wire must hold nothing but whole, valid frames.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include <cellos/telemetry/unique_fd.hpp>

#include "frame_decoder.hpp"
#include "harness.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using cellos::telemetry::UniqueFd;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 60s;  // for conditions that only a broken build would miss
constexpr uint32_t kTotal = 50;  // events the scripted probe emits

// Starts argv with fds 0-2 closed and no signal blocked; the caller reaps it.
pid_t spawn_with_std_fds_closed(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    close(0);
    close(1);
    close(2);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Reads what is available within `wait`; false at EOF or error.
bool read_some(int fd, std::string& into, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return true;
  char buf[65536];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

struct Decoded {
  std::vector<wire::Frame> frames;
  std::string error;  // why the stream is not all frames, or ""
  size_t trailing = 0;
};

Decoded decode_stream(const std::string& bytes) {
  Decoded d;
  std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  while (!rest.empty()) {
    const auto span = wire::next_frame(rest);
    if (span.kind == wire::FrameSpan::kBadLength) {
      d.error =
          "bad length at byte " + std::to_string(bytes.size() - rest.size()) + ": " + span.error;
      return d;
    }
    if (span.kind == wire::FrameSpan::kNeedMore) {
      d.trailing = rest.size();
      return d;
    }
    std::string why;
    auto frame = wire::decode_body(rest.subspan(4, span.size - 4), &why);
    if (!frame) {
      d.error = "bad frame at byte " + std::to_string(bytes.size() - rest.size()) + ": " + why;
      return d;
    }
    d.frames.push_back(std::move(*frame));
    rest = rest.subspan(span.size);
  }
  return d;
}

size_t count_source(const Decoded& d, const std::string& source) {
  size_t n = 0;
  for (const auto& f : d.frames) n += f.probe_source == source ? 1 : 0;
  return n;
}

TEST(ClosedStdFds, LogLinesAndOutputNeverReachTheWire) {
  t::TempDir dir;
  const std::string socket_path = dir.file("vm.vsock_9001");
  UniqueFd listener(t::listen_unix(socket_path, 1));
  ASSERT_GE(listener.get(), 0) << std::strerror(errno);
  // The shipped pairing (the process probe, which opens /proc when created, and the vsock
  // sink, which logs a line when it connects and one when it stops) plus the stdout sink, which
  // writes every event to fd 1, and the scripted probe, whose events are counted.
  const std::string config =
      dir.write("agent.toml",
                "[agent]\nheartbeat_interval_ms = 0\n"
                "[[probes.process]]\n"
                "[[sinks.vsock]]\naddress = \"unix:" +
                    socket_path +
                    "\"\n"
                    "[[sinks.stdout]]\n"
                    "[[probes.scripted]]\nevents = ['test.scripted seq worker']\n"
                    "interval_ms = 10\nburst = 5\ntotal = " +
                    std::to_string(kTotal) + "\n");
  const pid_t agent =
      spawn_with_std_fds_closed(t::agent_argv(config, {"--plugin-dir", t::fixture_dir()}));
  ASSERT_GT(agent, 0);
  struct Reaper {
    pid_t pid;
    bool reaped = false;
    ~Reaper() {
      if (!reaped) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } reaper{agent};

  pollfd p{listener.get(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kDeadline).count())), 1)
      << "the agent never connected";
  UniqueFd conn(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(conn.get(), 0);

  // Everything the scripted probe emits (or until the stream stops making sense).
  std::string wire;
  const auto end = std::chrono::steady_clock::now() + kDeadline;
  while (std::chrono::steady_clock::now() < end) {
    const Decoded d = decode_stream(wire);
    if (!d.error.empty() || count_source(d, "test.scripted") == kTotal) break;
    if (!read_some(conn.get(), wire, 100ms)) break;
  }

  // Its standard descriptors are /dev/null.
  for (int fd = 0; fd <= 2; ++fd) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(
        "/proc/" + std::to_string(agent) + "/fd/" + std::to_string(fd), ec);
    EXPECT_EQ(target.string(), "/dev/null") << "fd " << fd << ": " << ec.message();
  }
  kill(agent, SIGTERM);
  while (read_some(conn.get(), wire, 100ms) && std::chrono::steady_clock::now() < end) {
  }
  int status = 0;
  ASSERT_EQ(waitpid(agent, &status, 0), agent);
  reaper.reaped = true;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;

  const Decoded d = decode_stream(wire);
  EXPECT_EQ(d.error, "") << wire.size() << " bytes on the wire";
  EXPECT_EQ(d.trailing, 0u);
  EXPECT_EQ(count_source(d, "test.scripted"), kTotal);
}

}  // namespace
