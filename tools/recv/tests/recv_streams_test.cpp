// Completeness (issue 15, item 7) and per-VM files (item 6) through the real binary: frames
// carry `seq` after an agent.hello as the vsock sink sends them (stream_id, first_seq), encoded
// here with the wire library's encoder.
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cellos/telemetry/sdk.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "frame_encoder.hpp"
#include "harness.hpp"
#include "wire_test_support.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

std::string hello(uint64_t stream, uint64_t first_seq) {
  const ct_extra x[] = {ct::uint_extra("stream_id", stream), ct::text_extra("boot_id", "b-1"),
                        ct::text_extra("agent_version", "0.test"),
                        ct::text_extra("config_digest", "sha256:0"),
                        ct::uint_extra("first_seq", first_seq)};
  return wire::encode_frame(
      ct_event{sizeof(ct_event), "agent.hello", 1, "cellos-telemetr", 1, x, 5});
}

std::string seq_frame(uint64_t seq) {
  const ct_extra x[] = {ct::uint_extra("seq", seq)};
  return wire::encode_frame(ct_event{sizeof(ct_event), "process.spawned",
                                     static_cast<uint32_t>(1000 + seq), "sh", seq, x, 1});
}

std::string frames(std::initializer_list<uint64_t> seqs) {
  std::string out;
  for (const uint64_t s : seqs) out += seq_frame(s);
  return out;
}

// The seqs of the lines in text, in order (lines without one are left out).
std::vector<uint64_t> seqs_of(const std::string& text) {
  std::vector<uint64_t> out;
  for (const auto& l : t::parse_json_lines(text)) {
    if (l.contains("seq")) out.push_back(std::stoull(l.at("seq")));
  }
  return out;
}

std::vector<std::string> recv_argv(const std::string& socket, std::vector<std::string> extra) {
  std::vector<std::string> argv = {t::recv_path(), "--listen", "unix:" + socket};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

bool has(const t::ChildProcess& p, const std::string& text) {
  return p.err().find(text) != std::string::npos;
}

TEST(RecvStreams, GapsLateFramesAndDuplicatesOnStderrAndInTheSummary) {
  t::TempDir dir;
  const std::string socket = dir.file("vm42.vsock_9001");
  t::ChildProcess recv(recv_argv(socket, {}), dir);
  int fd = -1;
  ASSERT_TRUE(t::eventually([&] { return (fd = t::connect_unix(socket)) >= 0; })) << recv.err();
  ASSERT_TRUE(t::send_all(fd, hello(7, 1) + frames({1, 2, 3, 7, 5, 2})));
  ASSERT_TRUE(t::eventually([&] { return seqs_of(recv.out()).size() == 6; })) << recv.err();
  EXPECT_TRUE(t::eventually([&] { return has(recv, "duplicate"); })) << recv.err();
  EXPECT_TRUE(has(recv, "connection #1 (vm vm42): agent.hello: stream 7, first_seq 1"))
      << recv.err();
  EXPECT_TRUE(has(recv, "connection #1 (vm vm42): stream 7: gap: seq 4-6 missing (3 frame(s))"))
      << recv.err();
  EXPECT_TRUE(has(recv, "stream 7: seq 5 arrived late (was missing)")) << recv.err();
  EXPECT_TRUE(has(recv, "stream 7: 1 duplicate(s), seq 2 (printed again)")) << recv.err();
  // Lines say which VM and which stream; the hello keeps its own stream_id.
  EXPECT_NE(recv.out().find("{\"vm\":\"vm42\",\"stream_id\":7,\"content_version\":257,"),
            std::string::npos)
      << recv.out();
  EXPECT_NE(recv.out().find("{\"vm\":\"vm42\",\"content_version\":257,\"probe_source\":"
                            "\"agent.hello\""),
            std::string::npos)
      << recv.out();

  recv.signal(SIGUSR1);  // the summary, and it goes on
  const std::string stream_line =
      "stream 7 (vm vm42): seq 1-7, 5 frame(s), missing 2: 4, 6, duplicates 1, late 1\n";
  EXPECT_TRUE(t::eventually([&] { return has(recv, stream_line); })) << recv.err();
  EXPECT_TRUE(has(recv, "streams 1: missing 2 in 2 gap(s), duplicates 1 (0 dropped)\n"))
      << recv.err();
  ASSERT_TRUE(t::send_all(fd, frames({8})));
  EXPECT_TRUE(t::eventually([&] { return seqs_of(recv.out()).size() == 7; }));
  close(fd);
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0);
  EXPECT_EQ(t::count_occurrences(recv.err(), "stream 7 (vm vm42): seq 1-8, 6 frame(s)"), 1u)
      << recv.err();
}

TEST(RecvStreams, DedupeDropsWhatWasAlreadyPrintedByItsSeq) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");
  t::ChildProcess recv(recv_argv(socket, {"--dedupe"}), dir);
  int first = -1;
  ASSERT_TRUE(t::eventually([&] { return (first = t::connect_unix(socket)) >= 0; }));
  ASSERT_TRUE(t::send_all(first, hello(9, 1) + frames({1, 2, 3, 4, 5})));
  ASSERT_TRUE(t::eventually([&] { return seqs_of(recv.out()).size() == 5; })) << recv.err();
  close(first);
  // Reconnected, the agent sends again what it was not sure had been consumed.
  const int second = t::connect_unix(socket);
  ASSERT_GE(second, 0);
  ASSERT_TRUE(t::send_all(second, hello(9, 3) + frames({3, 4, 5, 6, 7, 8})));
  ASSERT_TRUE(t::eventually([&] { return seqs_of(recv.out()).size() == 8; })) << recv.err();
  close(second);
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0);
  EXPECT_EQ(seqs_of(recv.out()), (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_TRUE(has(recv, "connection #2 (vm vm): stream 9: 3 duplicate(s), seq 3-5 (dropped)"))
      << recv.err();
  EXPECT_TRUE(has(recv, "frames 10, ")) << recv.err();  // with the two hellos
  EXPECT_TRUE(has(recv, "streams 1: missing 0 in 0 gap(s), duplicates 3 (3 dropped)"))
      << recv.err();
}

// What the vsock sink promises (sinks/vsock/README.md), scripted: every frame is kept until
// the peer has consumed it (SIOCOUTQ, read while the connection is known alive), and after a
// reconnect the rest is sent again behind a hello whose first_seq is the oldest one kept.
class ScriptedAgent {
 public:
  ScriptedAgent(std::string socket, uint64_t stream, uint64_t total)
      : socket_(std::move(socket)), stream_(stream), total_(total) {
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedAgent() {
    stop_ = true;
    thread_.join();
  }
  bool done() const { return consumed_ == total_; }
  uint64_t connections() const { return connections_; }

 private:
  void run() {
    while (!stop_ && consumed_ < total_) {
      const int fd = t::connect_unix(socket_);
      if (fd < 0) {
        std::this_thread::sleep_for(2ms);  // the receiver is being restarted: retry
        continue;
      }
      ++connections_;
      serve(fd);
      close(fd);
    }
  }

  // Sends from consumed_ + 1 on; returns when the connection ends or everything is consumed.
  void serve(int fd) {
    const uint64_t base = consumed_;  // frames consumed before this connection
    std::string bytes = hello(stream_, base + 1);
    std::vector<size_t> ends;  // ends[i]: bytes up to and including frame base + 1 + i
    const size_t hello_size = bytes.size();
    size_t sent = 0;
    uint64_t next = base + 1;
    while (!stop_) {
      while (next <= total_ && bytes.size() - sent < 64 * 1024) {
        bytes += seq_frame(next++);
        ends.push_back(bytes.size());
      }
      if (sent < bytes.size()) {
        const ssize_t n =
            send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return;
        if (n > 0) sent += static_cast<size_t>(n);
      }
      int unread = 0;
      if (ioctl(fd, SIOCOUTQ, &unread) != 0) return;
      pollfd p{fd, POLLIN | POLLRDHUP, 0};
      if (poll(&p, 1, 0) != 0) return;  // the peer is gone: the count is void
      // Memory charged, not bytes: an overestimate (truesize), possibly above what was sent.
      const size_t taken = sent > static_cast<size_t>(unread) ? sent - unread : 0;
      if (taken >= hello_size) {
        size_t i = 0;
        while (i < ends.size() && ends[i] <= taken) ++i;
        consumed_ = base + i;
      }
      if (consumed_ == total_) return;
      if (sent == bytes.size()) {
        pollfd w{fd, POLLOUT, 0};
        poll(&w, 1, 5);  // nothing more to send: wait a little for the peer to read
      }
    }
  }

  std::string socket_;
  uint64_t stream_, total_;
  std::atomic<uint64_t> consumed_{0}, connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Every file of label in dir (LABEL.jsonl and its rotations), oldest first, each checked to
// end with a whole line and, rotated, to be within the rotation size (plus one batch).
std::string all_lines(const std::string& dir, const std::string& label, size_t rotate_bytes) {
  std::map<int, std::string> by_age;  // .N -> text; the current file is 0
  const std::string base = label + ".jsonl";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename();
    if (name != base && !name.starts_with(base + ".")) continue;
    const int age = name == base ? 0 : std::stoi(name.substr(base.size() + 1));
    by_age[age] = t::read_file(e.path());
    EXPECT_TRUE(by_age[age].empty() || by_age[age].back() == '\n') << name;
    if (age > 0) {
      EXPECT_LE(by_age[age].size(), rotate_bytes + 64 * 1024) << name;
    }
  }
  std::string text;
  for (auto it = by_age.rbegin(); it != by_age.rend(); ++it) text += it->second;
  return text;
}

// Two VMs, each writing to its own file, the receiver SIGKILLed again and again mid-stream:
// every file holds whole lines only, every seq exactly once (the duplicates an at-least-once
// channel brings after each kill are dropped across receiver runs by --dedupe, which finds
// in the file where the stream was left), and no receiver saw a gap.
TEST(RecvStreams, KilledRepeatedlyMidStreamWholeLinesNoGapDuplicatesDropped) {
  t::TempDir dir;
  const std::string out_dir = dir.file("out");
  const std::string a = dir.file("vm-a.vsock_9001"), b = dir.file("vm-b.vsock_9001");
  const std::vector<std::string> argv = {
      t::recv_path(), "--listen",       "unix:" + a, "--listen",      "unix:" + b, "--out-dir",
      out_dir,        "--rotate-bytes", "262144",    "--rotate-keep", "1000",      "--dedupe"};
  constexpr uint64_t kTotal = 30000;
  constexpr int kKills = 8;
  std::vector<std::unique_ptr<t::ChildProcess>> runs;
  runs.push_back(std::make_unique<t::ChildProcess>(argv, dir));
  ScriptedAgent vm_a(a, 0xA, kTotal), vm_b(b, 0xB, kTotal);
  const auto written = [&] {
    return t::read_file(out_dir + "/vm-a.jsonl").size() +
           t::read_file(out_dir + "/vm-b.jsonl").size();
  };
  for (int k = 0; k < kKills; ++k) {
    const size_t before = written();
    // Mid-stream: this run has written something, and the agents are not done.
    ASSERT_TRUE(
        t::eventually([&] { return written() != before || (vm_a.done() && vm_b.done()); }, 30s))
        << runs.back()->err();
    runs.back()->signal(SIGKILL);
    runs.back()->wait(10s);
    runs.push_back(std::make_unique<t::ChildProcess>(argv, dir));
  }
  ASSERT_TRUE(t::eventually([&] { return vm_a.done() && vm_b.done(); }, 60s)) << runs.back()->err();
  runs.back()->signal(SIGTERM);
  ASSERT_EQ(runs.back()->wait(10s), 0) << runs.back()->err();

  uint64_t dropped = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string err = runs[i]->err();
    EXPECT_EQ(err.find("gap:"), std::string::npos) << "run " << i << ":\n" << err;
    EXPECT_EQ(err.find("rejected"), err.rfind("rejected 0")) << "run " << i << ":\n" << err;
    for (size_t at = err.find(" duplicate(s), seq "); at != std::string::npos;
         at = err.find(" duplicate(s), seq ", at + 1)) {
      dropped += std::stoull(err.substr(err.rfind(' ', at - 1) + 1));
    }
  }
  for (const auto& [label, stream] : {std::pair{"vm-a", 0xA}, std::pair{"vm-b", 0xB}}) {
    SCOPED_TRACE(label);
    const std::string text = all_lines(out_dir, label, 262144);
    const auto lines = t::parse_json_lines(text);
    EXPECT_EQ(lines.size(), t::count_occurrences(text, "\n")) << "a line that does not parse";
    std::vector<uint64_t> seqs;
    for (const auto& l : lines) {
      EXPECT_EQ(l.at("vm"), label);
      if (l.at("probe_source") == "agent.hello") continue;
      EXPECT_EQ(l.at("stream_id"), std::to_string(stream));
      seqs.push_back(std::stoull(l.at("seq")));
    }
    ASSERT_EQ(seqs.size(), kTotal) << "each seq exactly once";
    for (uint64_t i = 0; i < kTotal; ++i) ASSERT_EQ(seqs[i], i + 1);
  }
  std::cerr << "receiver runs " << runs.size() << ", agent connections " << vm_a.connections()
            << " + " << vm_b.connections() << ", duplicates dropped " << dropped << "\n";
}

}  // namespace
