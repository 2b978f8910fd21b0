// The vsock sink end to end: the real agent with the scripted probe fixture (pid = a running
// sequence number, so exactly what arrived can be told), the real sink on a `unix:` address,
// and the real receiver, killed, stopped and restarted. Nothing here touches AF_VSOCK.
// Waits are generous and condition-based (eventually), never tuned to this machine's speed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "frame_decoder.hpp"
#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

constexpr auto kLong = 60s;  // for conditions that only a broken build would miss

struct Setup {
  std::string agent = "";         // extra [agent] lines
  std::string probe = "";         // the [[probes.scripted]] table's lines, or "" for no probe
  std::string sink = "";          // extra [[sinks.vsock]] lines
  std::string capture_path = "";  // also run the capture fixture sink into this file, if set
};

std::string write_config(const t::TempDir& dir, const std::string& socket, const Setup& s) {
  std::string c = "[agent]\n" + s.agent + "\n";
  if (!s.probe.empty()) c += "[[probes.scripted]]\n" + s.probe + "\n";
  c += "[[sinks.vsock]]\naddress = \"unix:" + socket + "\"\n" + s.sink + "\n";
  if (!s.capture_path.empty()) c += "[[sinks.capture]]\npath = \"" + s.capture_path + "\"\n";
  return dir.write("agent.toml", c);
}

std::vector<std::string> argv_for(const std::string& config) {
  return t::agent_argv(config, {"--plugin-dir", t::fixture_dir()});
}

std::unique_ptr<t::ChildProcess> start_recv(const t::TempDir& dir, const std::string& socket) {
  return std::make_unique<t::ChildProcess>(
      std::vector<std::string>{t::recv_path(), "--listen", "unix:" + socket}, dir);
}

// The scripted probe's sequence numbers among the receiver's lines, checking each such frame
// is whole and as emitted.
std::multiset<uint32_t> seqs(const std::vector<t::WireLine>& lines) {
  std::multiset<uint32_t> s;
  for (const auto& l : lines) {
    if (l.probe_source != "process.spawned") continue;
    EXPECT_EQ(l.guest_comm, "worker");
    EXPECT_EQ(l.content_version, 0x0101u);  // seq: every frame has an extra key
    s.insert(l.guest_pid);
  }
  return s;
}

uint64_t dropped_sum(const std::vector<t::WireLine>& lines) {
  uint64_t sum = 0;
  for (const auto& l : lines) {
    if (l.probe_source != "telemetry.dropped") continue;
    EXPECT_EQ(l.content_version, 0x0101u);
    sum += std::stoull(l.extras.at("dropped_count"));
  }
  return sum;
}

size_t captured_count(const std::string& path) {
  return t::read_captured(path).size();
}

// --- The host is not there when the agent starts ------------------------------------------

TEST(VsockSinkE2E, ListenerStartedTwoSecondsLateLosesNothing) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  constexpr uint32_t kTotal = 2000;
  const std::string config = write_config(
      dir, socket,
      {.probe = "events = ['process.spawned seq worker']\ninterval_ms = 5\nburst = 10\n"
                "log_each = true\ntotal = " +
                std::to_string(kTotal)});
  t::ChildProcess agent(argv_for(config), dir);
  // The host comes only once the agent failed to reach it and the probe emitted everything, so
  // the whole stream waited in the sink.
  ASSERT_TRUE(t::eventually(
      [&] {
        const std::string err = agent.err();
        return err.find("cannot connect") != std::string::npos &&
               err.find("emitted process.spawned " + std::to_string(kTotal) + "\n") !=
                   std::string::npos;
      },
      kLong))
      << agent.err();
  ASSERT_TRUE(agent.running()) << agent.err();
  auto recv = start_recv(dir, socket);

  ASSERT_TRUE(t::eventually(
      [&] { return seqs(t::parse_wire_lines(recv->out())).count(kTotal) == 1; }, kLong))
      << agent.err() << recv->err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(kLong), 0);
  recv->signal(SIGTERM);
  EXPECT_EQ(recv->wait(kLong), 0);

  const auto lines = t::parse_wire_lines(recv->out());
  const auto got = seqs(lines);
  EXPECT_EQ(got.size(), kTotal);
  for (uint32_t s = 1; s <= kTotal; ++s) ASSERT_EQ(got.count(s), 1u) << "seq " << s;
  EXPECT_EQ(dropped_sum(lines), 0u);
  EXPECT_NE(recv->err().find(", rejected 0,"), std::string::npos) << recv->err();
  // The outage is reported once, not once per retry.
  EXPECT_EQ(t::count_occurrences(agent.err(), "cannot connect to unix:"), 1u) << agent.err();
  EXPECT_EQ(t::count_occurrences(agent.err(), "connected to unix:"), 1u) << agent.err();
}

// --- The host goes away and comes back, ten times, under a steady stream -------------------

TEST(VsockSinkE2E, ListenerKilledAndRestartedTenTimesNoTornFrameNoLoss) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  const std::string captured = dir.file("emitted.tsv");
  // An endless stream; the capture sink records every event the probe emitted.
  const std::string config =
      write_config(dir, socket,
                   {.agent = "shutdown_timeout_ms = 30000",
                    .probe = "events = ['process.spawned seq worker']\ninterval_ms = 1\nburst = 5",
                    .capture_path = captured});
  std::vector<std::unique_ptr<t::ChildProcess>> receivers;
  receivers.push_back(start_recv(dir, socket));
  t::ChildProcess agent(argv_for(config), dir);

  constexpr int kRestarts = 10;
  uint32_t newest = 0;  // the newest seq any receiver printed so far
  for (int i = 0; i <= kRestarts; ++i) {
    auto& current = *receivers.back();
    // Let this receiver take 300 events no earlier one saw, then kill it mid-flight.
    ASSERT_TRUE(t::eventually(
        [&] {
          const auto s = seqs(t::parse_wire_lines(current.out()));
          return !s.empty() && *s.rbegin() >= newest + 300;
        },
        kLong))
        << "receiver " << i << ": " << current.err() << agent.err();
    newest = *seqs(t::parse_wire_lines(current.out())).rbegin();
    if (i == kRestarts) break;
    if (i % 2 == 0) {
      // Every other kill lands on a receiver that stopped reading, so frames are certainly
      // written but unread when it dies: those must come again on the next connection.
      current.signal(SIGSTOP);
      const size_t before = captured_count(captured);
      ASSERT_TRUE(t::eventually([&] { return captured_count(captured) >= before + 500; }, kLong));
    }
    current.signal(SIGKILL);
    current.wait(kLong);
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * (i % 4)));  // varied outages
    receivers.push_back(start_recv(dir, socket));
  }
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(kLong), 0) << agent.err();  // exits once the last receiver consumed all
  receivers.back()->signal(SIGTERM);
  ASSERT_EQ(receivers.back()->wait(kLong), 0);

  std::multiset<uint32_t> got;
  size_t frames = 0;
  for (size_t i = 0; i < receivers.size(); ++i) {
    const auto lines = t::parse_wire_lines(receivers[i]->out());
    frames += lines.size();
    EXPECT_EQ(dropped_sum(lines), 0u);
    const auto s = seqs(lines);
    got.insert(s.begin(), s.end());
    // A torn or misaligned frame would be refused and reported by the receiver.
    EXPECT_EQ(receivers[i]->err().find("rejected frame"), std::string::npos)
        << "receiver " << i << ": " << receivers[i]->err();
  }
  const auto emitted = t::read_captured(captured);
  ASSERT_GT(emitted.size(), 3000u);
  size_t missing = 0;
  for (const auto& e : emitted) missing += got.count(e.guest_pid) == 0 ? 1 : 0;
  EXPECT_EQ(missing, 0u);
  const std::set<uint32_t> unique(got.begin(), got.end());
  EXPECT_EQ(unique.size(), emitted.size());  // nothing arrived that was not emitted
  // At least one loss per kill. There can be more: a dying receiver's kernel teardown may
  // release its connection before its listener, and a reconnect landing in that gap is reset
  // (with nothing held) when the listener goes.
  EXPECT_GE(t::count_occurrences(agent.err(), "lost the connection"),
            static_cast<size_t>(kRestarts))
      << agent.err();
  // The sink's own account at stop: "... over C connections, R frames sent again ...".
  const std::string err = agent.err();
  const size_t over = err.find(" connections, ", err.find("stopping: "));
  ASSERT_NE(over, std::string::npos) << err;
  const unsigned long connections = std::stoul(err.substr(err.rfind(' ', over - 1) + 1));
  const unsigned long resent = std::stoul(err.substr(over + 14));
  EXPECT_GE(connections, static_cast<unsigned long>(kRestarts + 1));
  EXPECT_GT(resent, 0u) << "no kill found frames in flight";
  std::cout << "[ restarts ] " << kRestarts << " listener kills (" << kRestarts / 2
            << " while stalled); emitted " << emitted.size() << ", frames received " << frames
            << ", distinct seqs " << unique.size() << ", duplicates " << got.size() - unique.size()
            << ", missing " << missing << "; the sink sent again " << resent << " frames over "
            << connections << " connections\n";
}

// --- The host stops reading until the queue overflows --------------------------------------

TEST(VsockSinkE2E, StalledListenerOverflowDroppedCountIsExactlyWhatIsMissing) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  const std::string captured = dir.file("emitted.tsv");
  constexpr uint32_t kTotal = 20000;
  // No heartbeats: they would share the queue and its drop count with the sequence.
  const std::string config = write_config(
      dir, socket,
      {.agent = "heartbeat_interval_ms = 0\nshutdown_timeout_ms = 30000",
       .probe = "events = ['process.spawned seq worker']\ninterval_ms = 1\nburst = 20\n"
                "total = " +
                std::to_string(kTotal),
       .sink = "queue_capacity = 300\nbuffer_bytes = 16384",
       .capture_path = captured});
  auto recv = start_recv(dir, socket);
  t::ChildProcess agent(argv_for(config), dir);
  ASSERT_TRUE(t::eventually([&] { return t::parse_wire_lines(recv->out()).size() >= 50; }, kLong))
      << agent.err() << recv->err();
  recv->signal(SIGSTOP);  // reads nothing...
  ASSERT_TRUE(t::eventually([&] { return captured_count(captured) == kTotal; }, kLong));
  recv->signal(SIGCONT);  // ...then everything
  ASSERT_TRUE(t::eventually(
      [&] { return seqs(t::parse_wire_lines(recv->out())).count(kTotal) == 1; }, kLong))
      << agent.err() << recv->err();
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(kLong), 0) << agent.err();
  recv->signal(SIGTERM);
  ASSERT_EQ(recv->wait(kLong), 0);

  const auto lines = t::parse_wire_lines(recv->out());
  const auto got = seqs(lines);
  const std::set<uint32_t> unique(got.begin(), got.end());
  EXPECT_EQ(unique.size(), got.size()) << "no reconnection, so no duplicate";
  const uint64_t dropped = dropped_sum(lines);
  EXPECT_GT(dropped, 0u) << "the scenario did not overflow the queue";
  EXPECT_EQ(dropped, kTotal - unique.size());
  // Each report comes before anything newer: it announces exactly the gap that follows it
  // (drop-oldest removes the events right after the last one the sink took).
  uint64_t announced = 0;
  uint32_t last = 0;
  for (const auto& l : lines) {
    if (l.probe_source == "telemetry.dropped") {
      announced += std::stoull(l.extras.at("dropped_count"));
    } else if (l.probe_source == "process.spawned") {
      ASSERT_GT(l.guest_pid, last);
      EXPECT_EQ(l.guest_pid - last - 1, announced) << "before seq " << l.guest_pid;
      announced = 0;
      last = l.guest_pid;
    }
  }
  EXPECT_EQ(announced, 0u);
  std::cout << "[ overflow ] emitted " << kTotal << ", delivered " << unique.size()
            << ", dropped_count sum " << dropped << "\n";
}

// A host that reads, but slowly: 512 bytes every 2 ms, through our strict decoder.
TEST(VsockSinkE2E, SlowListenerOverflowDroppedCountIsExactlyWhatIsMissing) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  constexpr uint32_t kTotal = 20000;
  const std::string config = write_config(
      dir, socket,
      {.agent = "heartbeat_interval_ms = 0\nshutdown_timeout_ms = 30000",
       .probe = "events = ['process.spawned seq worker']\ninterval_ms = 1\nburst = 20\n"
                "total = " +
                std::to_string(kTotal),
       .sink = "queue_capacity = 300\nbuffer_bytes = 16384"});
  const int listener = t::listen_unix(socket, 1);
  ASSERT_GE(listener, 0);
  t::ChildProcess agent(argv_for(config), dir);
  const int fd = accept(listener, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  std::string stream;
  std::vector<wire::Frame> frames;
  bool saw_last = false;
  std::string error;
  const auto deadline = std::chrono::steady_clock::now() + kLong;
  while (!saw_last && error.empty() && std::chrono::steady_clock::now() < deadline) {
    char buf[512];
    const ssize_t n = read(fd, buf, sizeof buf);
    ASSERT_GT(n, 0) << "the agent closed the connection";
    stream.append(buf, static_cast<size_t>(n));
    size_t used = 0;
    while (true) {
      const auto bytes = std::span(reinterpret_cast<const uint8_t*>(stream.data()), stream.size());
      const auto next = wire::next_frame(bytes.subspan(used));
      if (next.kind != wire::FrameSpan::kWhole) {
        if (next.kind == wire::FrameSpan::kBadLength) error = next.error;
        break;
      }
      auto f = wire::decode_body(bytes.subspan(used + 4, next.size - 4), &error);
      if (!f) break;
      saw_last = saw_last || (f->probe_source == "process.spawned" && f->guest_pid == kTotal);
      frames.push_back(std::move(*f));
      used += next.size;
    }
    stream.erase(0, used);
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(error, "");
  ASSERT_TRUE(saw_last);
  // The agent stops while this host is still there: its flush ends once everything was
  // consumed, and it closes; the host reads to the end of the stream.
  agent.signal(SIGTERM);
  char rest[4096];
  while (read(fd, rest, sizeof rest) > 0) {
  }
  EXPECT_EQ(agent.wait(kLong), 0);
  close(fd);
  close(listener);

  std::set<uint32_t> unique;
  uint64_t dropped = 0, announced = 0;
  uint32_t last = 0;
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.front().probe_source, "agent.hello");  // the connection's (issue 15)
  for (const auto& f : frames) {
    if (f.probe_source == "agent.hello") continue;
    if (f.probe_source == "telemetry.dropped") {
      ASSERT_EQ(f.extras.size(), 2u);
      EXPECT_EQ(f.extras[0].first, "seq");
      EXPECT_EQ(f.extras[1].first, "dropped_count");
      dropped += f.extras[1].second.number;
      announced += f.extras[1].second.number;
    } else {
      ASSERT_EQ(f.probe_source, "process.spawned");
      ASSERT_GT(f.guest_pid, last);
      EXPECT_EQ(f.guest_pid - last - 1, announced) << "before seq " << f.guest_pid;
      announced = 0;
      last = f.guest_pid;
      unique.insert(f.guest_pid);
    }
  }
  EXPECT_GT(dropped, 0u) << "the scenario did not overflow the queue";
  EXPECT_EQ(dropped, kTotal - unique.size());
  std::cout << "[ slow     ] emitted " << kTotal << ", delivered " << unique.size()
            << ", dropped_count sum " << dropped << "\n";
}

// --- A decoder that is not ours ------------------------------------------------------------

// Accepts one connection on a Unix socket and keeps every byte until EOF.
class RawCapture {
 public:
  explicit RawCapture(const std::string& path) {
    listener_ = t::listen_unix(path, 1);
    EXPECT_GE(listener_, 0);
    thread_ = std::thread([this] {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      char buf[65536];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) bytes_.append(buf, static_cast<size_t>(n));
      close(fd);
    });
  }
  ~RawCapture() {
    shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }
  // After the sender closed.
  std::string take() {
    thread_.join();
    return bytes_;
  }

 private:
  int listener_ = -1;
  std::thread thread_;
  std::string bytes_;
};

TEST(VsockSinkE2E, CapturedFramesDecodeWithPythonCbor2) {
  const std::string python = t::python_with_cbor2();
  if (python.empty()) GTEST_SKIP() << "no python3 with cbor2 (apt install python3-cbor2)";
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  const std::string captured = dir.file("emitted.tsv");
  RawCapture capture(socket);
  constexpr int kTotal = 30;
  const std::string config = write_config(
      dir, socket,
      {.probe = "events = ['process.spawned seq worker', 'process.exec seq \\xff\\xfe', "
                "'custom.kind seq abcdefghijklmno big=18446744073709551615 small=0']\n"
                "interval_ms = 1\nburst = 3\ntotal = " +
                std::to_string(kTotal),
       .capture_path = captured});
  t::ChildProcess agent(argv_for(config), dir);
  ASSERT_TRUE(t::eventually([&] { return captured_count(captured) == kTotal; }, kLong));
  agent.signal(SIGTERM);  // flushes, then closes: the capture sees EOF
  ASSERT_EQ(agent.wait(kLong), 0) << agent.err();
  const std::string frames_file = dir.write("frames.bin", capture.take());

  t::ChildProcess decode({python, CT_DECODE_SCRIPT, frames_file}, dir);
  ASSERT_EQ(decode.wait(kLong), 0) << decode.err();
  auto lines = t::parse_wire_lines(decode.out());
  // One connection: the sink's agent.hello first (issue 15), then the frames it took.
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().probe_source, "agent.hello");
  EXPECT_EQ(lines.front().extras.at("first_seq"), "1");
  lines.erase(lines.begin());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kTotal)) << decode.out();
  for (const auto& l : lines) {
    ASSERT_GE(l.guest_pid, 1u);
    switch ((l.guest_pid - 1) % 3) {
      case 0:
        EXPECT_EQ(l.probe_source, "process.spawned");
        EXPECT_EQ(l.guest_comm, "worker");
        EXPECT_EQ(l.content_version, 0x0101u);  // seq: every frame has an extra key
        break;
      case 1:
        EXPECT_EQ(l.probe_source, "process.exec");
        EXPECT_EQ(l.guest_comm, "\xEF\xBF\xBD\xEF\xBF\xBD");  // each invalid byte: one U+FFFD
        break;
      case 2:
        EXPECT_EQ(l.probe_source, "custom.kind");
        EXPECT_EQ(l.guest_comm, "abcdefghijklmno");
        EXPECT_EQ(l.content_version, 0x0101u);
        EXPECT_EQ(l.extras.at("big"), "18446744073709551615");
        EXPECT_EQ(l.extras.at("small"), "0");
        break;
    }
  }
}

// --- Idle, absent, misconfigured ------------------------------------------------------------

TEST(VsockSinkE2E, IdleChannelCarriesHeartbeats) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  auto recv = start_recv(dir, socket);
  const std::string config = write_config(dir, socket, {.agent = "heartbeat_interval_ms = 100"});
  t::ChildProcess agent(argv_for(config), dir);
  ASSERT_TRUE(t::eventually(
      [&] {
        size_t beats = 0;
        for (const auto& l : t::parse_wire_lines(recv->out())) {
          beats += l.probe_source == "agent.heartbeat" &&
                   l.guest_pid == static_cast<uint32_t>(agent.pid());
        }
        return beats >= 3;
      },
      kLong))
      << agent.err() << recv->err();
}

TEST(VsockSinkE2E, ShutdownWithoutAHostIsBoundedAndClean) {
  t::TempDir dir;
  const std::string config = write_config(
      dir, dir.file("nobody-listens"),
      {.agent = "shutdown_timeout_ms = 300",
       .probe = "events = ['process.spawned seq worker']\ninterval_ms = 10\nburst = 10"});
  t::ChildProcess agent(argv_for(config), dir);
  ASSERT_TRUE(t::eventually([&] { return agent.err().find("cannot connect") != std::string::npos; },
                            kLong));
  std::this_thread::sleep_for(300ms);  // several retries, still one report
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(kLong), 0) << agent.err();
  EXPECT_EQ(t::count_occurrences(agent.err(), "cannot connect"), 1u) << agent.err();
  EXPECT_NE(agent.err().find("No such file or directory"), std::string::npos) << agent.err();
}

TEST(VsockSinkE2E, MalformedAddressOrBackoffIsAConfigError) {
  t::TempDir dir;
  for (const auto& [sink, message] : std::vector<std::pair<std::string, std::string>>{
           {"address = \"vsock://2\"", "expected vsock://CID:PORT"},
           {"address = \"tcp://host:1\"", "expected vsock://CID:PORT or unix:PATH"},
           {"address = \"unix:/x\"\nreconnect_min_ms = 100\nreconnect_max_ms = 10",
            "reconnect_max_ms must not be below reconnect_min_ms"}}) {
    const std::string config = dir.write("bad.toml", "[[sinks.vsock]]\n" + sink + "\n");
    const auto o =
        t::run_agent({"--config", config, "--plugin-dir", t::plugin_dir(), "--check-config"});
    EXPECT_EQ(o.exit_code, 78) << o.err;
    EXPECT_NE(o.err.find(message), std::string::npos) << o.err;
  }
}

}  // namespace
