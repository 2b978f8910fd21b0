// What a host outage costs the guest: the real agent, a scripted burst far larger than the
// sink's queue, and a host that accepted the connection but reads nothing. The queue must hold
// no more memory than `queue_bytes` says, every event must be received or counted in a
// telemetry.dropped report (exactly), and once the host drains the queue the memory must go
// back to the system, not stay in the allocator. Waits are condition-based, with deadlines only.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "frame_decoder.hpp"
#include "harness.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // shadow memory and quarantine: resident sizes mean nothing
#else
constexpr bool kSanitized = false;
#endif

constexpr uint32_t kEvents = 200000;  // about 20 MB as wire frames, 12 MB as the old deque held
constexpr long kQueueBytes = 1 << 20;

long rss_anon_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

// Reads frames from a connection, counting the scripted events and the core's loss reports.
class Host {
 public:
  explicit Host(int fd) : fd_(fd) {}
  // Reads what is there (waiting at most 100 ms for it); false at end of stream.
  bool read_some() {
    timeval tv{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t buf[65536];
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return true;
    carry_.insert(carry_.end(), buf, buf + n);
    size_t at = 0;
    for (;;) {
      const wire::FrameSpan span = wire::next_frame({carry_.data() + at, carry_.size() - at});
      if (span.kind != wire::FrameSpan::kWhole) break;
      std::string error;
      const auto f = wire::decode_body({carry_.data() + at + 4, span.size - 4}, &error);
      EXPECT_TRUE(f) << error;
      if (f && f->probe_source == "process.spawned") {
        ++events;
        last_pid = f->guest_pid;
      } else if (f && f->probe_source == "telemetry.dropped") {
        for (const auto& [key, value] : f->extras)
          if (key == "dropped_count") dropped += value.number;
      }
      at += span.size;
    }
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(at));
    return true;
  }
  uint64_t events = 0, dropped = 0;
  uint32_t last_pid = 0;

 private:
  int fd_;
  std::vector<uint8_t> carry_;
};

TEST(QueueMemory, StalledHostCostsQueueBytesAndDrainingGivesThemBack) {
  t::TempDir dir;
  const std::string socket = dir.file("host.sock_9001");
  const int listener = t::listen_unix(socket, 1);
  ASSERT_GE(listener, 0) << std::strerror(errno);
  // One burst of kEvents in a single timer call: all of them are queued before the sink writes
  // its first frame, so the queue is at its fullest once anything arrives.
  const std::string config = dir.write(
      "agent.toml",
      "[agent]\nheartbeat_interval_ms = 0\ncall_time_limit_ms = 0\n"
      "[[probes.scripted]]\nevents = ['process.spawned seq worker']\ninterval_ms = 1\nburst = " +
          std::to_string(kEvents) + "\ntotal = " + std::to_string(kEvents) +
          "\n[[sinks.vsock]]\naddress = \"unix:" + socket +
          "\"\nbuffer_bytes = 16384\nqueue_bytes = " + std::to_string(kQueueBytes) + "\n");
  t::ChildProcess agent(t::agent_argv(config, {"--plugin-dir", t::fixture_dir()}), dir);
  pollfd pending{listener, POLLIN, 0};
  ASSERT_EQ(poll(&pending, 1, 60000), 1) << "the sink never connected: " << agent.err();
  const int conn = accept(listener, nullptr, nullptr);
  ASSERT_GE(conn, 0) << std::strerror(errno);

  // The host reads nothing until the socket holds more than any greeting could (8 KiB; the sink
  // keeps at most buffer_bytes written and unread): the burst has been queued whole by then, and
  // the queue is full.
  ASSERT_TRUE(t::eventually(
      [&] {
        int pending = 0;
        return ioctl(conn, FIONREAD, &pending) == 0 && pending >= 8192;
      },
      60s))
      << agent.err();
  const long full_kib = rss_anon_kib(agent.pid());
  if (!kSanitized) {
    // The queue's bytes, plus what the agent held anyway (its heap, the sink's small buffer).
    EXPECT_LE(full_kib, kQueueBytes / 1024 + 1536) << "anonymous memory with the queue full";
  }

  Host host(conn);
  ASSERT_TRUE(t::eventually(
      [&] {
        host.read_some();
        return host.last_pid == kEvents;
      },
      60s))
      << host.events << " received, " << host.dropped << " dropped; " << agent.err();
  EXPECT_GT(host.dropped, 0u) << "the burst must overflow the queue";
  EXPECT_EQ(host.events + host.dropped, kEvents) << "every event received or counted, exactly";

  if (!kSanitized) {
    // Given back within a few seconds of the queue draining, not kept in the allocator.
    long now_kib = 0;
    EXPECT_TRUE(t::eventually(
        [&] {
          now_kib = rss_anon_kib(agent.pid());
          return now_kib <= full_kib - kQueueBytes / 1024 * 3 / 4;
        },
        5s))
        << "anonymous memory " << now_kib << " KiB after draining, " << full_kib << " KiB full";
  }
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(30s), 0) << agent.err();
  close(conn);
  close(listener);
}

}  // namespace
