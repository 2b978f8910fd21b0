// Typed extras (ABI 2, wire revision 1.1) end to end: the scripted probe fixture emits one extra
// of every type through EventBuilder, the real agent checks and copies it, the vsock sink
// encodes it onto a `unix:` socket, and cellos-telemetry-recv decodes it strictly and prints it.
// Also the cut to 4096 bytes of a 10 KiB argv, and the plain C probe through the same path.
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <string>

#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto kLong = 60s;

struct AgentToRecv {
  t::TempDir dir;
  std::string socket = dir.file("vm.vsock_9001");
  std::unique_ptr<t::ChildProcess> recv, agent;

  // probe_table: the lines of one [[probes.X]] table, header included.
  explicit AgentToRecv(const std::string& probe_table) {
    recv = std::make_unique<t::ChildProcess>(
        std::vector<std::string>{t::recv_path(), "--listen", "unix:" + socket}, dir);
    const std::string config =
        dir.write("agent.toml", "[agent]\nheartbeat_interval_ms = 0\n" + probe_table +
                                    "\n[[sinks.vsock]]\naddress = \"unix:" + socket + "\"\n");
    agent = std::make_unique<t::ChildProcess>(
        t::agent_argv(config, {"--plugin-dir", t::fixture_dir()}), dir);
  }
  bool printed(const std::string& needle) {
    return t::eventually([&] { return recv->out().find(needle) != std::string::npos; }, kLong);
  }
  void stop() {
    agent->signal(SIGTERM);
    EXPECT_EQ(agent->wait(kLong), 0) << agent->err();
    recv->signal(SIGTERM);
    EXPECT_EQ(recv->wait(kLong), 0) << recv->err();
    EXPECT_NE(recv->err().find(", rejected 0,"), std::string::npos) << recv->err();
  }
};

TEST(TypedExtrasE2E, EveryTypeFromTheScriptedProbeReachesRecv) {
  // TOML basic strings: "\\x20" is the fixture's \x20 escape (a space), "\\xff" an invalid byte.
  AgentToRecv run(
      "[[probes.scripted]]\ntotal = 1\nevents = [\"scripted.typed 1 t u=300 neg=-25 yes=true "
      "no=false cwd='/tmp/a\\\\x20b' argv=[ls,-l] none=[] bad='\\\\xff' "
      "big=18446744073709551615 min=-9223372036854775808\"]\n");
  const std::string expected =
      ",\"content_version\":257,\"probe_source\":\"scripted.typed\","
      "\"guest_pid\":1,"
      "\"guest_comm\":\"t\",\"guest_monotonic_ns\":";
  const std::string extras =
      ",\"u\":300,\"neg\":-25,\"yes\":true,\"no\":false,\"cwd\":\"/tmp/a b\",\"argv\":[\"ls\","
      "\"-l\"],\"none\":[],\"bad\":\"\xEF\xBF\xBD\",\"big\":18446744073709551615,"
      "\"min\":-9223372036854775808}\n";
  ASSERT_TRUE(run.printed(extras)) << run.agent->err() << run.recv->err() << run.recv->out();
  // The connection's agent.hello first (issue 15), then the event, seq 1 before its extras.
  const std::string out = run.recv->out();
  EXPECT_EQ(
      out.rfind("{\"vm\":\"vm\",\"content_version\":257,\"probe_source\":\"agent.hello\",", 0), 0u)
      << out;
  // After the hello, recv names the stream on every line (tools/recv/README.md: streams).
  const size_t id_at = out.find("\"stream_id\":");
  ASSERT_NE(id_at, std::string::npos) << out;
  const std::string id = out.substr(id_at + 12, out.find(',', id_at) - id_at - 12);
  const size_t second = out.find('\n') + 1;
  const std::string line_start = "{\"vm\":\"vm\",\"stream_id\":" + id + expected;
  EXPECT_EQ(out.compare(second, line_start.size(), line_start), 0) << out;
  EXPECT_NE(out.find(",\"seq\":1" + extras), std::string::npos) << out;
  run.stop();
  EXPECT_EQ(run.agent->err().find("disabled"), std::string::npos) << run.agent->err();
}

TEST(TypedExtrasE2E, TenKibArgvIsCutToFitAndSaysSoNothingDropped) {
  // 200 items of 50 bytes: within the core's limits (256 items, 16 KiB), over one frame.
  AgentToRecv run(
      "[[probes.scripted]]\ntotal = 2\nevents = [\"process.exec seq sh argv=[*200:50] "
      "after=1\"]\n");
  ASSERT_TRUE(run.printed("\"guest_pid\":2,")) << run.agent->err() << run.recv->err();
  run.stop();
  const std::string out = run.recv->out();
  EXPECT_EQ(t::count_occurrences(out, ",\"after\":1,\"extras_truncated\":true}\n"), 2u) << out;
  // Every line is one frame the strict decoder accepted: its body was at most 4096 bytes.
  // The first event's line: after the connection's agent.hello (issue 15).
  const size_t begin = out.find('\n') + 1, end = out.find('\n', begin);
  const size_t items_kept =
      t::count_occurrences(out.substr(begin, end - begin), std::string(50, 'a'));
  EXPECT_GT(items_kept, 60u);
  EXPECT_LT(items_kept, 200u);
}

TEST(TypedExtrasE2E, PlainCProbeReachesRecv) {
  AgentToRecv run("[[probes.cprobe]]\n");
  ASSERT_TRUE(run.printed(",\"u\":7,\"i\":-7,\"b\":true,\"t\":\"from C\",\"l\":[\"a\",\"b c\"]}\n"))
      << run.agent->err() << run.recv->err() << run.recv->out();
  run.stop();
}

}  // namespace
