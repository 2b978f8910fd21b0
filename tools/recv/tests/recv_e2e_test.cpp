// The receiver as operators run it: a real process on a Unix socket in a temp dir, fed good
// and malformed frames over concurrent and sequential connections.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "frame_encoder.hpp"
#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;

namespace {

std::string frame(uint32_t pid, const char* comm = "sh") {
  return wire::encode_frame(
      ct_event{sizeof(ct_event), "process.spawned", pid, comm, 1000 + pid, nullptr, 0});
}

class RecvProcess {
 public:
  explicit RecvProcess(const t::TempDir& dir)
      : socket_(dir.file("vm.vsock_9001")),
        child_({t::recv_path(), "--listen", "unix:" + socket_}, dir) {
    int fd = -1;
    EXPECT_TRUE(t::eventually([&] { return (fd = t::connect_unix(socket_)) >= 0; }))
        << child_.err();
    if (fd >= 0) close(fd);  // a probe connection: counted, closed cleanly, no frame
  }
  const std::string& socket() const { return socket_; }
  t::ChildProcess& child() { return child_; }
  bool printed_pid(uint32_t pid) {
    for (const auto& l : t::parse_wire_lines(child_.out())) {
      if (l.guest_pid == pid) return true;
    }
    return false;
  }

 private:
  std::string socket_;
  t::ChildProcess child_;
};

// Each malformed frame is refused with its reason and closes only its own connection.
TEST(RecvE2E, MalformedFramesAreRejectedWithTheirReasonOthersUnaffected) {
  t::TempDir dir;
  RecvProcess recv(dir);
  const int steady = t::connect_unix(recv.socket());
  ASSERT_GE(steady, 0);
  ASSERT_TRUE(t::send_all(steady, frame(1)));
  ASSERT_TRUE(t::eventually([&] { return recv.printed_pid(1); })) << recv.child().err();

  // Wrong key order, built by hand: probe_source and guest_pid swapped.
  std::string body;
  const auto put = [&body](std::initializer_list<int> bytes, const char* text = "") {
    for (int b : bytes) body.push_back(static_cast<char>(b));
    body += text;
  };
  put({0xA5});
  put({0x6F}, "content_version");
  put({0x19, 0x01, 0x00});
  put({0x69}, "guest_pid");
  put({0x01});
  put({0x6C}, "probe_source");
  put({0x61}, "x");
  put({0x6A}, "guest_comm");
  put({0x60});
  put({0x72}, "guest_monotonic_ns");
  put({0x00});
  const std::string order =
      std::string(1, static_cast<char>(body.size())) + std::string(3, '\0') + body;
  std::string version = frame(2);
  version[22] = 0x02;  // content_version 0x0100 -> 0x0200: 19 [01] 00 after the 15-byte key
  std::string utf8 = frame(3, "XY");
  utf8[utf8.find("XY")] = static_cast<char>(0xC3);  // C3 then 'Y': not a continuation byte
  const std::string oversized = std::string("\x88\x13\x00\x00", 4) + std::string(64, 'x');

  struct Case {
    const char* name;
    std::string bytes;
    bool we_close;  // truncation: the sender stops mid-frame
    const char* reason;
  };
  const Case cases[] = {
      {"truncated", frame(4).substr(0, 50), true, "rejected frame: truncated:"},
      {"oversized", oversized, false, "rejected frame: oversized: body length 5000 exceeds 4096"},
      {"wrong version", version, false,
       "rejected frame: unsupported major version: content_version 0x0200"},
      {"wrong order", order, false,
       "rejected frame: key order: expected 'probe_source' as key 2, got 'guest_pid'"},
      {"non-UTF-8", utf8, false, "rejected frame: invalid UTF-8: guest_comm"},
  };
  uint32_t next_good = 10;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const int bad = t::connect_unix(recv.socket());
    ASSERT_GE(bad, 0);
    // A good frame first on the same connection: it is printed, the bad one is not.
    ASSERT_TRUE(t::send_all(bad, frame(next_good) + c.bytes));
    if (c.we_close) shutdown(bad, SHUT_WR);
    EXPECT_TRUE(t::peer_closed(bad)) << "the receiver kept a connection with a bad frame open";
    close(bad);
    EXPECT_TRUE(t::eventually([&] {
      return recv.child().err().find(c.reason) != std::string::npos;
    })) << recv.child().err();
    EXPECT_TRUE(recv.printed_pid(next_good));
    // The steady connection is untouched.
    ASSERT_TRUE(t::send_all(steady, frame(next_good + 1)));
    EXPECT_TRUE(t::eventually([&] { return recv.printed_pid(next_good + 1); }));
    next_good += 2;
  }
  for (uint32_t pid : {2u, 3u, 4u}) EXPECT_FALSE(recv.printed_pid(pid));
  close(steady);

  recv.child().signal(SIGTERM);
  EXPECT_EQ(recv.child().wait(std::chrono::seconds(10)), 0);
  // 1 + 5 good frames before the bad ones + 5 on the steady connection = 11 frames; the probe
  // connection, the steady one and five bad ones = 7 connections.
  EXPECT_NE(recv.child().err().find("frames 11, bytes "), std::string::npos) << recv.child().err();
  EXPECT_NE(recv.child().err().find(", rejected 5, connections 7"), std::string::npos)
      << recv.child().err();
}

TEST(RecvE2E, FramesSplitAcrossWritesAndManyConnectionsAtOnce) {
  t::TempDir dir;
  RecvProcess recv(dir);
  constexpr int kConnections = 20;
  int fds[kConnections];
  for (int i = 0; i < kConnections; ++i) {
    fds[i] = t::connect_unix(recv.socket());
    ASSERT_GE(fds[i], 0);
  }
  // Interleave the connections, each frame dribbled out a few bytes at a time.
  std::string frames[kConnections];
  for (int i = 0; i < kConnections; ++i) frames[i] = frame(100 + i) + frame(200 + i);
  for (size_t at = 0; at < frames[0].size(); at += 7) {
    for (int i = 0; i < kConnections; ++i) {
      ASSERT_TRUE(t::send_all(fds[i], frames[i].substr(at, 7)));
    }
  }
  for (int i = 0; i < kConnections; ++i) close(fds[i]);
  EXPECT_TRUE(t::eventually([&] { return t::parse_wire_lines(recv.child().out()).size() == 40; }))
      << recv.child().err();
  for (int i = 0; i < kConnections; ++i) {
    EXPECT_TRUE(recv.printed_pid(100 + i));
    EXPECT_TRUE(recv.printed_pid(200 + i));
  }
  recv.child().signal(SIGINT);
  EXPECT_EQ(recv.child().wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(recv.child().err().find("frames 40, bytes "), std::string::npos);
  EXPECT_NE(recv.child().err().find(", rejected 0, connections 21"), std::string::npos)
      << recv.child().err();
}

TEST(RecvE2E, ReplacesAStaleSocketFileAndRefusesBadArguments) {
  t::TempDir dir;
  {
    RecvProcess first(dir);
    first.child().signal(SIGKILL);  // leaves its socket file behind
    first.child().wait(std::chrono::seconds(10));
  }
  RecvProcess second(dir);
  const int fd = t::connect_unix(second.socket());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(t::send_all(fd, frame(7)));
  EXPECT_TRUE(t::eventually([&] { return second.printed_pid(7); }));
  close(fd);

  t::ChildProcess bad({t::recv_path(), "--listen", "tcp:1"}, dir);
  EXPECT_EQ(bad.wait(std::chrono::seconds(10)), 64);
  EXPECT_NE(bad.err().find("expected unix:PATH or vsock:PORT"), std::string::npos);
}

// Listening on a vsock port needs no host (nothing connects here: never to CID 2).
TEST(RecvE2E, ListensOnAVsockPort) {
  t::TempDir dir;
  const std::string port = std::to_string(40000 + getpid() % 20000);
  t::ChildProcess recv({t::recv_path(), "--listen", "vsock:" + port}, dir);
  const bool listening = t::eventually([&] {
    return recv.err().find("listening on vsock:" + port) != std::string::npos || !recv.running();
  });
  if (!recv.running()) {
    GTEST_SKIP() << "no usable AF_VSOCK here: " << recv.err();
  }
  ASSERT_TRUE(listening);
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(std::chrono::seconds(10)), 0);
  EXPECT_NE(recv.err().find("frames 0, bytes 0, rejected 0, connections 0"), std::string::npos)
      << recv.err();
}

// Which VM said what (issue 15, item 4): a label per listener, given as LABEL=ADDRESS or derived
// from a Firecracker socket path, first on every line.
TEST(RecvE2E, EveryLineCarriesTheVmLabelGivenOrDerivedFromThePath) {
  t::TempDir dir;
  const std::string derived = dir.file("vm42.vsock_9001");
  const std::string labelled = dir.file("other_9001");
  t::ChildProcess recv(
      {t::recv_path(), "--listen", "unix:" + derived, "--listen", "web-1=unix:" + labelled}, dir);
  int a = -1, b = -1;
  ASSERT_TRUE(t::eventually([&] { return (a = t::connect_unix(derived)) >= 0; })) << recv.err();
  ASSERT_TRUE(t::eventually([&] { return (b = t::connect_unix(labelled)) >= 0; })) << recv.err();
  ASSERT_TRUE(t::send_all(a, frame(1)));
  ASSERT_TRUE(t::send_all(b, frame(2)));
  ASSERT_TRUE(t::eventually([&] { return t::parse_wire_lines(recv.out()).size() == 2; }))
      << recv.err();
  const std::string out = recv.out();
  EXPECT_NE(out.find("{\"vm\":\"vm42\",\"content_version\":256,\"probe_source\":"
                     "\"process.spawned\",\"guest_pid\":1,"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"vm\":\"web-1\",\"content_version\":256,\"probe_source\":"
                     "\"process.spawned\",\"guest_pid\":2,"),
            std::string::npos)
      << out;
  EXPECT_NE(recv.err().find("listening on unix:" + derived + " (vm vm42)"), std::string::npos)
      << recv.err();
  close(a);
  close(b);
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(std::chrono::seconds(10)), 0);

  // A label is a file name in --out-dir: anything else is refused, naming the argument.
  t::ChildProcess bad({t::recv_path(), "--listen", "a/b=unix:" + labelled}, dir);
  EXPECT_EQ(bad.wait(std::chrono::seconds(10)), 64);
  EXPECT_NE(bad.err().find("--listen a/b=unix:"), std::string::npos) << bad.err();
  EXPECT_NE(bad.err().find("label 'a/b'"), std::string::npos) << bad.err();
  // Two VMs may not share a label (nor, in --out-dir, a file).
  t::ChildProcess twice(
      {t::recv_path(), "--listen", "unix:" + derived, "--listen", "vm42=unix:" + labelled}, dir);
  EXPECT_EQ(twice.wait(std::chrono::seconds(10)), 64);
  EXPECT_NE(twice.err().find("the label 'vm42' is already used by unix:" + derived),
            std::string::npos)
      << twice.err();
}

}  // namespace
