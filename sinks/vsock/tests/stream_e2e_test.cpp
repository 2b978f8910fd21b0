// Issue 15, the agent's side: stream identity (agent.hello), seq, and a new stream at a change
// of VM generation, end to end. The real agent and the real sink on a `unix:` address, and a
// host written here (accept, read, decode with the strict decoder, close) so that each
// connection's frames are seen in order and connections can all be reset at once, as
// Firecracker does at a snapshot. The kernel's vmgenid uevent is injected through the agent's
// --uevent-socket-for-test seam. Nothing here touches AF_VSOCK.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include "frame_decoder.hpp"
#include "harness.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

constexpr auto kLong = 60s;  // for conditions that only a broken build would miss

uint64_t u(const wire::Frame& f, const std::string& key) {
  for (const auto& [k, v] : f.extras) {
    if (k == key && v.type == wire::ExtraValue::kUnsigned) return v.number;
  }
  ADD_FAILURE() << f.probe_source << " has no unsigned " << key;
  return 0;
}

std::string text(const wire::Frame& f, const std::string& key) {
  for (const auto& [k, v] : f.extras) {
    if (k == key && v.type == wire::ExtraValue::kText) return v.text;
  }
  ADD_FAILURE() << f.probe_source << " has no text " << key;
  return "";
}

bool has(const wire::Frame& f, const std::string& key) {
  for (const auto& [k, v] : f.extras) {
    if (k == key) return true;
  }
  return false;
}

// A host: accepts every connection, decodes what arrives on each (strictly: a refused frame
// fails the test), keeps each connection's frames in order, and can close them all at once.
class Host {
 public:
  explicit Host(const std::string& path) : listener_(t::listen_unix(path, 16)) {
    EXPECT_GE(listener_, 0) << path;
  }
  ~Host() {
    close_all();
    if (listener_ >= 0) close(listener_);
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Accepts and reads what is there now, without waiting.
  void poll_once() {
    while (true) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 0) != 1) break;
      const int fd = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      conns_.push_back({fd, {}, {}});
    }
    for (Conn& c : conns_) {
      if (c.fd < 0) continue;
      char buf[65536];
      while (true) {
        const ssize_t n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0) break;
        c.bytes.insert(c.bytes.end(), buf, buf + n);
      }
      while (true) {
        const wire::FrameSpan s = wire::next_frame(c.bytes);
        if (s.kind != wire::FrameSpan::kWhole) break;
        std::string error;
        auto f =
            wire::decode_body(std::span<const uint8_t>(c.bytes).subspan(4, s.size - 4), &error);
        EXPECT_TRUE(f.has_value()) << error;
        if (f) c.frames.push_back(std::move(*f));
        c.bytes.erase(c.bytes.begin(), c.bytes.begin() + static_cast<std::ptrdiff_t>(s.size));
      }
    }
  }
  // Every connection at once, whatever it holds unread: what a snapshot does to vsock.
  void close_all() {
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
  }
  bool wait_for(const std::function<bool()>& pred) {
    return t::eventually(
        [&] {
          poll_once();
          return pred();
        },
        kLong);
  }

  size_t connections() const { return conns_.size(); }
  const std::vector<wire::Frame>& frames(size_t conn) const { return conns_.at(conn).frames; }
  std::vector<wire::Frame> all() const {
    std::vector<wire::Frame> out;
    for (const Conn& c : conns_) out.insert(out.end(), c.frames.begin(), c.frames.end());
    return out;
  }

 private:
  struct Conn {
    int fd;
    std::vector<uint8_t> bytes;
    std::vector<wire::Frame> frames;
  };
  int listener_;
  std::vector<Conn> conns_;
};

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string s;
  std::getline(in, s);
  return s;
}

size_t count(const std::vector<wire::Frame>& frames, const std::string& source) {
  size_t n = 0;
  for (const auto& f : frames) n += f.probe_source == source;
  return n;
}

// Checks every connection reads as the contract says: a hello first; after each hello, frames
// of its stream numbered from its first_seq, one by one (a hello may start a new stream). The
// seqs each stream's frames carried, by stream_id.
std::map<uint64_t, std::multiset<uint64_t>> check_streams(const Host& host) {
  std::map<uint64_t, std::multiset<uint64_t>> seen;
  for (size_t c = 0; c < host.connections(); ++c) {
    const auto& frames = host.frames(c);
    if (frames.empty()) continue;
    EXPECT_EQ(frames[0].probe_source, "agent.hello") << "connection " << c;
    uint64_t stream = 0, expect = 0;
    for (const auto& f : frames) {
      if (f.probe_source == "agent.hello") {
        EXPECT_FALSE(has(f, "seq")) << "a hello is not numbered";
        stream = u(f, "stream_id");
        expect = u(f, "first_seq");
        continue;
      }
      EXPECT_EQ(u(f, "seq"), expect) << f.probe_source << " on connection " << c;
      // seq comes first after the five wire keys.
      EXPECT_EQ(f.extras.at(0).first, "seq");
      seen[stream].insert(u(f, "seq"));
      expect = u(f, "seq") + 1;
    }
  }
  return seen;
}

// The [agent] and instance lines around a vsock sink on `socket`.
std::string config(const std::string& socket, const std::string& probe,
                   const std::string& sink = "") {
  return "[agent]\nheartbeat_interval_ms = 0\n" + probe +
         "\n[[sinks.vsock]]\naddress = \"unix:" + socket +
         "\"\nreconnect_min_ms = 10\nreconnect_max_ms = 50\n" + sink + "\n";
}

std::vector<std::string> argv_for(const std::string& config, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--plugin-dir", t::fixture_dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  return t::agent_argv(config, args);
}

// ---------------------------------------------------------------------------------------------

TEST(VsockStream, EveryConnectionStartsWithHelloAndResentFramesKeepTheirSeq) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  Host host(socket);
  constexpr uint64_t kTotal = 3000;
  const std::string cfg =
      dir.write("agent.toml", config(socket,
                                     "[[probes.scripted]]\nevents = ['process.spawned seq w']\n"
                                     "interval_ms = 2\nburst = 10\ntotal = " +
                                         std::to_string(kTotal)));
  t::ChildProcess agent(argv_for(cfg), dir);

  // Some frames arrive; then every connection is reset while the stream goes on, twice.
  for (int reset = 0; reset < 2; ++reset) {
    const size_t before = host.all().size();
    ASSERT_TRUE(host.wait_for([&] { return host.all().size() > before + 100; })) << agent.err();
    host.close_all();
  }
  ASSERT_TRUE(host.wait_for([&] {
    for (const auto& f : host.all()) {
      if (f.probe_source == "process.spawned" && f.guest_pid == kTotal) return true;
    }
    return false;
  })) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(kLong), 0);
  host.poll_once();

  ASSERT_GE(host.connections(), 3u);
  const wire::Frame& hello = host.frames(0).at(0);
  ASSERT_EQ(hello.probe_source, "agent.hello");
  const uint64_t stream = u(hello, "stream_id");
  EXPECT_NE(stream, 0u);
  EXPECT_EQ(text(hello, "boot_id"), boot_id());
  EXPECT_FALSE(text(hello, "agent_version").empty());
  EXPECT_EQ(text(hello, "config_digest").size(), 64u);
  // --check-config prints the digest this configuration announces, before any rollout.
  const auto checked = t::run_agent({"--check-config", "--config", cfg, "--plugin-dir",
                                     t::plugin_dir(), "--plugin-dir", t::fixture_dir()});
  EXPECT_NE(checked.out.find("config_digest: " + text(hello, "config_digest") + " "),
            std::string::npos)
      << checked.exit_code << "\n"
      << checked.out << checked.err;
  EXPECT_EQ(u(hello, "first_seq"), 1u);
  EXPECT_EQ(hello.content_version, 0x0101u);

  const auto seen = check_streams(host);
  ASSERT_EQ(seen.size(), 1u) << "one stream without a generation change";
  // Every seq from 1 to the last, none missing; a frame sent again has the seq it had.
  const std::multiset<uint64_t>& seqs = seen.at(stream);
  for (uint64_t s = 1; s <= kTotal; ++s) ASSERT_EQ(seqs.count(s) > 0, true) << "gap at " << s;
  for (const auto& f : host.all()) {
    if (f.probe_source == "process.spawned") {
      EXPECT_EQ(u(f, "seq"), f.guest_pid);
    }
  }
  // Each later connection's hello names the same stream, and the seq its first frame has.
  for (size_t c = 1; c < host.connections(); ++c) {
    if (host.frames(c).empty()) continue;
    EXPECT_EQ(u(host.frames(c).at(0), "stream_id"), stream);
  }
}

TEST(VsockStream, QueueDropsLeaveNoSeqGapAndAreAnnouncedWithASeq) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  constexpr uint64_t kTotal = 500;
  // No host at first: the queue of 50 overflows while the sink cannot connect.
  const std::string cfg =
      dir.write("agent.toml",
                config(socket,
                       "[[probes.scripted]]\nevents = ['process.spawned seq w']\ninterval_ms = 1\n"
                       "burst = 100\nlog_each = true\ntotal = " +
                           std::to_string(kTotal),
                       "queue_capacity = 50\n"));
  t::ChildProcess agent(argv_for(cfg), dir);
  ASSERT_TRUE(t::eventually(
      [&] {
        return agent.err().find("emitted process.spawned " + std::to_string(kTotal) + "\n") !=
               std::string::npos;
      },
      kLong))
      << agent.err();
  Host host(socket);
  ASSERT_TRUE(host.wait_for([&] {
    for (const auto& f : host.all()) {
      if (f.probe_source == "process.spawned" && f.guest_pid == kTotal) return true;
    }
    return false;
  })) << agent.err();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(kLong), 0);
  host.poll_once();

  const auto seen = check_streams(host);  // consecutive: no gap from the drops
  ASSERT_EQ(seen.size(), 1u);
  const auto all = host.all();
  uint64_t dropped = 0, spawned = 0;
  for (const auto& f : all) {
    if (f.probe_source == "telemetry.dropped") {
      EXPECT_GT(u(f, "seq"), 0u);
      dropped += u(f, "dropped_count");
    }
    spawned += f.probe_source == "process.spawned";
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(spawned + dropped, kTotal);
  // Every frame numbered, the announcement included: the last seq is the number of frames.
  EXPECT_EQ(*seen.begin()->second.rbegin(), spawned + count(all, "telemetry.dropped"));
}

// The kernel's uevent for a new generation, as drivers/virt/vmgenid.c sends it
// (kobject_uevent_env(KOBJ_CHANGE, {"NEW_VMGENID=1"})) on a Firecracker guest.
std::string vmgenid_uevent() {
  const std::string v[] = {"change@/devices/platform/VMGENCTR:00",
                           "ACTION=change",
                           "DEVPATH=/devices/platform/VMGENCTR:00",
                           "SUBSYSTEM=platform",
                           "NEW_VMGENID=1",
                           "DRIVER=vmgenid",
                           "MODALIAS=acpi:VMGENCTR:",
                           "SEQNUM=2271"};
  std::string d;
  for (const auto& s : v) d += s + '\0';
  return d;
}

bool send_datagram(const std::string& path, const std::string& bytes) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  const bool ok = sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&un),
                         sizeof un) == static_cast<ssize_t>(bytes.size());
  close(fd);
  return ok;
}

TEST(VsockStream, NewVmGenerationStartsANewStreamAndTheProcessProbeResyncs) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  const std::string uevents = dir.file("uevents");
  Host host(socket);
  // The process probe polls /proc once an hour: only a resync reports a process started later.
  const std::string cfg = dir.write(
      "agent.toml", config(socket,
                           "[[probes.process]]\nmethod = \"procfs\"\ninterval_ms = 3600000\n"
                           "emit_initial = true\n"));
  t::ChildProcess agent(t::agent_argv(cfg, {"--uevent-socket-for-test", uevents}), dir);
  ASSERT_TRUE(host.wait_for([&] { return !host.all().empty(); })) << agent.err();
  const uint64_t first = u(host.frames(0).at(0), "stream_id");

  // A process the probe cannot have seen yet, then the snapshot: connections reset and the
  // generation changes. (Exec'd, so it holds none of the host's sockets: a forked copy of
  // this test would keep the connections open after close_all.)
  t::ChildProcess kid({"/bin/sleep", "600"}, dir);
  const pid_t child = kid.pid();
  host.close_all();
  ASSERT_TRUE(send_datagram(uevents, vmgenid_uevent()));

  const auto restored = [&]() -> std::optional<wire::Frame> {
    for (const auto& f : host.all()) {
      if (f.probe_source == "agent.restored") return f;
    }
    return std::nullopt;
  };
  const auto kid_seen = [&] {
    for (const auto& f : host.all()) {
      if (f.probe_source == "process.spawned" && f.guest_pid == static_cast<uint32_t>(child)) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(host.wait_for([&] { return restored().has_value() && kid_seen(); })) << agent.err();

  kid.signal(SIGKILL);
  kid.wait(kLong);
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(kLong), 0);
  host.poll_once();

  const wire::Frame r = *restored();
  const uint64_t second = u(r, "stream_id");
  EXPECT_NE(second, first);
  EXPECT_NE(second, 0u);
  EXPECT_EQ(u(r, "previous_stream_id"), first);
  EXPECT_EQ(u(r, "seq"), 1u) << "agent.restored is the first frame of the new stream";
  const auto seen = check_streams(host);
  EXPECT_TRUE(seen.contains(second));
  // The connection made after the reset introduces the new stream (perhaps after frames of
  // the old one that were held, not known consumed, at the reset: their own hello first).
  ASSERT_GE(host.connections(), 2u);
  bool introduced = false;
  for (const auto& f : host.frames(host.connections() - 1)) {
    introduced |= f.probe_source == "agent.hello" && u(f, "stream_id") == second;
  }
  EXPECT_TRUE(introduced);
  // The resync's report of the new process is in the new stream, after agent.restored.
  for (const auto& f : host.all()) {
    if (f.probe_source == "process.spawned" && f.guest_pid == static_cast<uint32_t>(child)) {
      EXPECT_GT(u(f, "seq"), 1u);
    }
  }
  EXPECT_NE(agent.err().find("VM generation changed"), std::string::npos) << agent.err();
}

}  // namespace
