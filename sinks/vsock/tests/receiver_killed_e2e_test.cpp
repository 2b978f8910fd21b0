// Issue 15 item 7, end to end with every real part: the real agent (the scripted probe fixture
// storming into the vsock sink on a `unix:` address, a queue small enough to overflow) and the
// real receiver writing the VM's file with --out-dir --dedupe, SIGKILLed and restarted again and
// again during the storm. What the file holds at the end must prove its own completeness: no seq
// gap, every seq once (the duplicates an at-least-once channel brings after each kill dropped,
// across receiver runs), and every event the agent's queue dropped announced by
// telemetry.dropped, to the event, matching the agent's own exit account.
// Waits are generous deadlines on conditions, never tuned to this machine's speed.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto kLong = 60s;  // for conditions that only a broken build would miss

// Counts the lines of a file that only grows, reading only what was added since the last call:
// the capture sink's file reaches megabytes and is polled every 10 ms.
class LineCounter {
 public:
  explicit LineCounter(std::string path) : path_(std::move(path)) {}
  uint64_t lines() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return lines_;
    in.seekg(static_cast<std::streamoff>(offset_));
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      const auto n = static_cast<size_t>(in.gcount());
      offset_ += n;
      for (size_t i = 0; i < n; ++i) lines_ += buf[i] == '\n';
    }
    return lines_;
  }

 private:
  std::string path_;
  uint64_t offset_ = 0, lines_ = 0;
};

uint64_t size_of(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

// The core's exit account of one sink, from the agent's stderr:
// "<sink>: Q event(s) queued, T taken by the sink, D dropped, L left at exit".
struct ExitAccount {
  unsigned long long queued = 0, taken = 0, dropped = 0, left = 0;
};
std::optional<ExitAccount> exit_account(const std::string& err, const std::string& sink) {
  const std::string prefix = sink + ": ";
  for (size_t at = err.find(prefix); at != std::string::npos; at = err.find(prefix, at + 1)) {
    ExitAccount a;
    if (std::sscanf(err.c_str() + at + prefix.size(),
                    "%llu event(s) queued, %llu taken by the sink, %llu dropped, %llu left at exit",
                    &a.queued, &a.taken, &a.dropped, &a.left) == 4) {
      return a;
    }
  }
  return std::nullopt;
}

// The numbers in "N duplicate(s), seq A-B (dropped)" lines the receiver wrote.
uint64_t duplicates_dropped(const std::string& err) {
  uint64_t n = 0;
  for (size_t at = err.find(" duplicate(s), seq "); at != std::string::npos;
       at = err.find(" duplicate(s), seq ", at + 1)) {
    n += std::stoull(err.substr(err.rfind(' ', at - 1) + 1));
  }
  return n;
}

TEST(ReceiverKilled, EightKillsDuringAStormFileHasNoGapNoDuplicateAndEveryDropAnnounced) {
  t::TempDir dir;
  const std::string socket = dir.file("vm.vsock_9001");  // the receiver labels it "vm"
  const std::string out_dir = dir.file("out");
  const std::string file = out_dir + "/vm.jsonl";
  const std::string captured = dir.file("emitted.tsv");
  constexpr int kKills = 8;
  // While a receiver is stopped, the probe emits this many more: more than the sink's queue
  // (300), its buffer (16 KiB, ~140 frames) and a Unix socket's send buffer (net.core.
  // wmem_default, 212992 bytes of truesize here: under 2200 frames of 100 bytes or more) hold
  // together, so the queue certainly overflows.
  constexpr uint64_t kStalledEmits = 5000;
  // An endless storm (total = 0), so every kill lands mid-stream however fast this machine is;
  // it ends at SIGTERM. No heartbeats: they would share the queue and its drop count with the
  // probe's events. The capture sink, with a queue that cannot overflow, tells how far the
  // probe has got.
  const std::string config =
      dir.write("agent.toml",
                "[agent]\nheartbeat_interval_ms = 0\nshutdown_timeout_ms = 30000\n"
                "[[probes.scripted]]\nevents = ['process.spawned seq worker']\ninterval_ms = 1\n"
                "burst = 50\ntotal = 0\n[[sinks.vsock]]\naddress = \"unix:" +
                    socket +
                    "\"\nqueue_capacity = 300\nbuffer_bytes = 16384\nreconnect_min_ms = 10\n"
                    "reconnect_max_ms = 50\n"
                    "[[sinks.capture]]\npath = \"" +
                    captured + "\"\nqueue_capacity = 16777216\nqueue_bytes = 268435456\n");
  // One file, never rotated: the whole stream is in vm.jsonl.
  const std::vector<std::string> recv_argv = {t::recv_path(), "--listen", "unix:" + socket,
                                              "--out-dir",    out_dir,    "--rotate-bytes",
                                              "1073741824",   "--dedupe"};

  std::vector<std::unique_ptr<t::ChildProcess>> runs;
  runs.push_back(std::make_unique<t::ChildProcess>(recv_argv, dir));
  t::ChildProcess agent(t::agent_argv(config, {"--plugin-dir", t::fixture_dir()}), dir);
  LineCounter emitted(captured);

  for (int k = 0; k < kKills; ++k) {
    auto& current = *runs.back();
    // Mid-stream: this run has written something.
    const uint64_t before = size_of(file);
    ASSERT_TRUE(t::eventually([&] { return size_of(file) > before; }, kLong))
        << "run " << k << ": " << current.err() << agent.err();
    if (k % 2 == 0) {
      // Every other kill lands on a receiver that stopped reading: frames are written but
      // unread when it dies (they must come again), and the agent's queue overflows meanwhile.
      current.signal(SIGSTOP);
      const uint64_t at = emitted.lines();
      ASSERT_TRUE(t::eventually([&] { return emitted.lines() >= at + kStalledEmits; }, kLong))
          << agent.err();
    }
    current.signal(SIGKILL);
    ASSERT_EQ(current.wait(kLong), 128 + SIGKILL);
    runs.push_back(std::make_unique<t::ChildProcess>(recv_argv, dir));
  }
  // The storm ends (SIGTERM stops the probe) once the last receiver is writing too; the agent
  // exits once that receiver consumed everything the sink holds.
  const uint64_t before = size_of(file);
  ASSERT_TRUE(t::eventually([&] { return size_of(file) > before; }, kLong)) << agent.err();
  agent.signal(SIGTERM);
  ASSERT_EQ(agent.wait(kLong), 0) << agent.err();
  // What the probe emitted, pids 1..total: every one reached the capture sink (nothing dropped
  // from its queue: checked by its exit account).
  const uint64_t total = emitted.lines();
  const auto captured_account = exit_account(agent.err(), "sinks.capture[0]");
  ASSERT_TRUE(captured_account.has_value()) << agent.err();
  ASSERT_EQ(captured_account->queued, total);
  ASSERT_EQ(captured_account->dropped, 0u);
  runs.back()->signal(SIGTERM);
  ASSERT_EQ(runs.back()->wait(kLong), 0) << runs.back()->err();

  // Every receiver run: no frame refused, no gap seen (a run that starts counting on from the
  // file must find the stream where the last run left it).
  uint64_t dedupe_dropped = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    const std::string err = runs[i]->err();
    EXPECT_EQ(err.find("gap:"), std::string::npos) << "run " << i << ":\n" << err;
    EXPECT_EQ(err.find("rejected frame"), std::string::npos) << "run " << i << ":\n" << err;
    dedupe_dropped += duplicates_dropped(err);
  }
  EXPECT_NE(runs.back()->err().find("missing 0 in 0 gap(s)"), std::string::npos)
      << runs.back()->err();

  // The file: whole lines only, one stream, its seqs 1..N each exactly once, in order.
  ASSERT_EQ(std::distance(fs::directory_iterator(out_dir), fs::directory_iterator{}), 1);
  const std::string text = t::read_file(file);
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto lines = t::parse_json_lines(text);
  ASSERT_EQ(lines.size(), t::count_occurrences(text, "\n")) << "a line that does not parse";
  std::set<std::string> streams;
  uint64_t next_seq = 1, spawned = 0, reports = 0, announced_total = 0, hellos = 0;
  uint64_t announced = 0, last_pid = 0;  // drops announced since the last event delivered
  for (const auto& l : lines) {
    ASSERT_EQ(l.at("vm"), "vm");
    if (l.at("probe_source") == "agent.hello") {
      ++hellos;
      streams.insert(l.at("stream_id"));
      continue;
    }
    streams.insert(l.at("stream_id"));
    ASSERT_EQ(std::stoull(l.at("seq")), next_seq) << "a gap or a duplicate in the file";
    ++next_seq;
    if (l.at("probe_source") == "telemetry.dropped") {
      ++reports;
      announced += std::stoull(l.at("dropped_count"));
      announced_total += std::stoull(l.at("dropped_count"));
      continue;
    }
    ASSERT_EQ(l.at("probe_source"), "process.spawned");
    ++spawned;
    // Drop-oldest removes the events right after the last one the sink took, and the report
    // comes before anything newer: it announces exactly the events missing here.
    const uint64_t pid = std::stoull(l.at("guest_pid"));
    ASSERT_GT(pid, last_pid);
    EXPECT_EQ(pid - last_pid - 1, announced) << "before probe event " << pid;
    announced = 0;
    last_pid = pid;
  }
  EXPECT_EQ(announced, 0u) << "a report of drops after the last event";
  EXPECT_EQ(last_pid, total) << "the probe's last event arrived (drop-oldest keeps it)";
  EXPECT_EQ(streams.size(), 1u) << "one stream: no VM generation change here";
  EXPECT_GE(hellos, static_cast<uint64_t>(kKills + 1)) << "a hello per connection";

  // Every event the probe emitted is in the file or was announced as dropped, and the agent's
  // own accounts agree with the file exactly.
  EXPECT_GT(announced_total, 0u) << "the storm did not overflow the queue";
  EXPECT_EQ(spawned + announced_total, total);
  const std::string agent_err = agent.err();
  const auto account = exit_account(agent_err, "sinks.vsock[0]");
  ASSERT_TRUE(account.has_value()) << agent_err;
  EXPECT_EQ(account->queued, total);
  EXPECT_EQ(account->taken, spawned);
  EXPECT_EQ(account->dropped, announced_total);
  EXPECT_EQ(account->left, 0u);
  // The sink took every numbered frame (the reports too) and saw each consumed by a receiver.
  const uint64_t frames = spawned + reports;
  EXPECT_NE(agent_err.find("account: " + std::to_string(frames) + " taken = " +
                           std::to_string(frames) + " consumed by the host + dropped_count 0"),
            std::string::npos)
      << agent_err;
  const size_t over = agent_err.find(" connections, ", agent_err.find("stopping: "));
  ASSERT_NE(over, std::string::npos) << agent_err;
  const uint64_t resent = std::stoull(agent_err.substr(over + 14));
  EXPECT_GT(resent, 0u) << "no kill found frames in flight";

  std::cout << "[ killed   ] " << kKills << " receiver kills (" << (kKills + 1) / 2
            << " while stopped); emitted " << total << ", in the file " << spawned << " events + "
            << reports << " telemetry.dropped (dropped_count sum " << announced_total
            << "), seqs 1-" << next_seq - 1 << "; sent again " << resent
            << ", duplicates dropped by --dedupe " << dedupe_dropped << ", hellos " << hellos
            << "\n";
}

}  // namespace
