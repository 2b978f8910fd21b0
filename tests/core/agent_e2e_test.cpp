// The real cellos-telemetry binary with fixture plugins: command line, exit codes, routing,
// containment, drop accounting and shutdown.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <set>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

// Runs the agent on a config until it exits by itself.
t::Outcome run_with(const t::TempDir& dir, const std::string& toml,
                    std::vector<std::string> extra = {}) {
  const std::string cfg = dir.write("agent.toml", toml);
  std::vector<std::string> args{
      "--config", cfg, "--plugin-dir", t::plugin_dir(), "--plugin-dir", t::fixture_dir()};
  args.insert(args.end(), extra.begin(), extra.end());
  return t::run_agent(args);
}

struct Running {
  t::TempDir dir;
  std::unique_ptr<t::ChildProcess> agent;
  void start(const std::string& toml) {
    agent = std::make_unique<t::ChildProcess>(
        t::agent_argv(dir.write("agent.toml", toml), {"--plugin-dir", t::fixture_dir()}), dir);
  }
  std::string out_file(const std::string& name) const { return dir.file(name); }
  int stop() {
    agent->signal(SIGTERM);
    return agent->wait(20s).value_or(-1);
  }
};

std::string capture(const t::TempDir& dir, const std::string& name, const std::string& extra = "") {
  return "[[sinks.capture]]\npath = \"" + dir.file(name) + "\"\n" + extra + "\n";
}

TEST(AgentCli, BadCommandLineExits64) {
  const auto o = t::run_agent({"--no-such-flag"});
  EXPECT_EQ(o.exit_code, 64);
  EXPECT_NE(o.err.find("unknown argument '--no-such-flag'"), std::string::npos);
  EXPECT_EQ(t::run_agent({"--config"}).exit_code, 64);
}

TEST(AgentCli, VersionNamesTheAbi) {
  const auto o = t::run_agent({"--version"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("plugin ABI 2.1"), std::string::npos) << o.out;
}

TEST(AgentCli, HelpListsEveryPluginsOptions) {
  const auto o =
      t::run_agent({"--help", "--plugin-dir", t::plugin_dir(), "--config", "/nonexistent"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("--check-config"), std::string::npos);
  EXPECT_NE(o.out.find("sink stdout"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("queue_capacity (int, default 65536"), std::string::npos);
  // Each probe lists the names it emits (what `match` globs are written against); sinks none.
  EXPECT_NE(o.out.find("    emits: process.spawned, process.exec, process.exited, process.lost\n"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(o.out.find("emits:", o.out.find("sink stdout")), std::string::npos) << o.out;
}

// The default and what is allowed are told apart: a list of choices was once printed straight
// after the default, as if the default were one more choice.
TEST(AgentCli, HelpLabelsChoicesAndRanges) {
  const auto o =
      t::run_agent({"--help", "--plugin-dir", t::plugin_dir(), "--config", "/nonexistent"});
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_NE(o.out.find("format (string, default \"json\"; one of \"json\", \"text\")"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("queue_capacity (int, default 65536; 1 to 16777216)"), std::string::npos)
      << o.out;
}

TEST(AgentCli, MissingConfigFileExits78) {
  const auto o = t::run_agent({"--config", "/nonexistent/agent.toml"});
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("/nonexistent/agent.toml: cannot read the configuration file"),
            std::string::npos);
}

TEST(AgentCli, CheckConfigPrintsWhatWouldRun) {
  t::TempDir dir;
  const auto o = run_with(dir,
                          "[[probes.scripted]]\ntotal = 3\n[[probes.scripted]]\n"
                          "[[probes.thrower]]\nenabled = false\n" +
                              capture(dir, "c"),
                          {"--check-config"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("probes.scripted[0] (" + dir.file("agent.toml") +
                       ":1:1): scripted 0.1.0, ABI 2.1"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find(".so\n    emits: scripted.*, process.*, custom.*, soak.*, test.*, a.b, "
                       "still.here, good.one, other.one\n"),
            std::string::npos)
      << o.out;
  EXPECT_EQ(o.out.find("emits:", o.out.find("sinks.capture[0]")), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("probes.scripted[1]"), std::string::npos);
  EXPECT_NE(o.out.find("total = 3"), std::string::npos);
  EXPECT_NE(o.out.find("match = [\"*\"], queue_capacity = 65536"), std::string::npos);
  EXPECT_NE(o.out.find("OK: 2 probe(s), 1 sink(s), 1 disabled instance(s)"), std::string::npos);
  EXPECT_EQ(t::read_file(dir.file("c")), "");  // nothing ran
}

TEST(AgentCli, CheckConfigShowsWhereEachPartOfAMergedConfigCameFrom) {
  t::TempDir dir;
  std::filesystem::create_directory(dir.file("agent.d"));
  dir.write("agent.d/50-vm.toml",
            "[agent]\nheartbeat_interval_ms = 1000\ndisable = [\"probes.thrower\"]\n"
            "[[probes.scripted]]\ntotal = 9\n");
  const auto o = run_with(dir, "[[probes.thrower]]\n" + capture(dir, "c"), {"--check-config"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const std::string vm = dir.file("agent.d/50-vm.toml");
  EXPECT_NE(o.out.find("    " + dir.file("agent.toml") + "\n    " + vm + "\n"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("heartbeat_interval_ms: 1000 (" + vm + ":2:25)"), std::string::npos);
  EXPECT_NE(o.out.find("shutdown_timeout_ms: 2000 (default)"), std::string::npos);
  EXPECT_NE(o.out.find("probes.scripted[0] (" + vm + ":4:1)"), std::string::npos);
  EXPECT_NE(o.out.find("probes.thrower[0] (" + dir.file("agent.toml") + ":1:1): disabled"),
            std::string::npos);
}

TEST(AgentCli, BadOptionExits78WithFileLineColumn) {
  t::TempDir dir;
  const auto o = run_with(dir, "[[probes.scripted]]\n\ninterval_ms = -5\n" + capture(dir, "c"));
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find(dir.file("agent.toml") + ":3:15: 'interval_ms' = -5 is out of range"),
            std::string::npos)
      << o.err;
}

TEST(AgentCli, SyntaxErrorExits78WithFileLineColumn) {
  t::TempDir dir;
  const auto o = run_with(dir, "[[probes.scripted]\n");
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find(dir.file("agent.toml") + ":1:"), std::string::npos) << o.err;
}

TEST(AgentCli, PluginLoadingErrorExits78NamingThePlugin) {
  t::TempDir dir;
  const auto o = run_with(dir, "[[probes.newmajor]]\n" + capture(dir, "c"));
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("probe-newmajor.so: plugin ABI 3.0 is incompatible"), std::string::npos)
      << o.err;
}

TEST(AgentCli, ProbeThatFailsToStartExits78) {
  t::TempDir dir;
  auto o = run_with(dir, "[[probes.thrower]]\nwhen = \"start\"\n" + capture(dir, "c"));
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("probes.thrower[0]: cannot start: thrower: refusing to start"),
            std::string::npos)
      << o.err;
  o = run_with(dir, "[[probes.thrower]]\nwhen = \"create\"\n" + capture(dir, "c"));
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("cannot create: thrower: refusing to be created"), std::string::npos);
}

TEST(Agent, SigtermFlushesEverythingQueuedAndExits0) {
  // A slow sink (10 events per call, 2 ms between calls) still has most of 400 events queued
  // when SIGTERM arrives; the shutdown flush must deliver them all.
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n[[probes.scripted]]\nevents = ['a.b seq x']\n"
      "total = 400\n" +
      capture(r.dir, "c", "accept_max = 10\nresume_ms = 2"));
  ASSERT_TRUE(t::eventually([&] { return !t::read_captured(r.out_file("c")).empty(); }));
  EXPECT_EQ(r.stop(), 0) << r.agent->err();
  const auto got = t::read_captured(r.out_file("c"));
  ASSERT_EQ(got.size(), 400u);
  for (uint32_t i = 0; i < 400; ++i) EXPECT_EQ(got[i].guest_pid, i + 1);
}

TEST(Agent, SigintAlsoStopsCleanly) {
  Running r;
  r.start("[[probes.scripted]]\nevents = ['a.b 1 x']\ninterval_ms = 5\n" + capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] { return !t::read_captured(r.out_file("c")).empty(); }));
  r.agent->signal(SIGINT);
  EXPECT_EQ(r.agent->wait(20s), 0);
}

TEST(Agent, MatchRoutesBySource) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n[[probes.scripted]]\n"
      "events = ['process.spawned 1 a', 'custom.thing 2 b', 'process.exited 1 a']\n"
      "total = 3\n" +
      capture(r.dir, "proc", "match = [\"process.*\"]") +
      capture(r.dir, "custom", "match = [\"custom.*\", \"nothing.else\"]") + capture(r.dir, "all"));
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("all")).size() == 3; }));
  EXPECT_EQ(r.stop(), 0);
  const auto proc = t::read_captured(r.out_file("proc"));
  ASSERT_EQ(proc.size(), 2u);
  EXPECT_EQ(proc[0].probe_source, "process.spawned");
  EXPECT_EQ(proc[1].probe_source, "process.exited");
  const auto custom = t::read_captured(r.out_file("custom"));
  ASSERT_EQ(custom.size(), 1u);
  EXPECT_EQ(custom[0].probe_source, "custom.thing");
}

TEST(Agent, OverflowDropsOldestAndReportsTheExactCountBeforeNewerEvents) {
  // 2000 events at once into a queue of 50 feeding a sink that takes 5 per call: most are
  // dropped. Whatever arrives, received + reported drops must equal what was produced, and each
  // telemetry.dropped must account exactly for the gap before the next event.
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n[[probes.scripted]]\nevents = ['a.b seq x']\n"
      "total = 2000\n" +
      capture(r.dir, "c", "queue_capacity = 50\naccept_max = 5\nresume_ms = 1"));
  ASSERT_TRUE(t::eventually([&] {
    const auto got = t::read_captured(r.out_file("c"));
    return !got.empty() && got.back().guest_pid == 2000;
  }));
  EXPECT_EQ(r.stop(), 0);
  const auto got = t::read_captured(r.out_file("c"));
  uint64_t received = 0, dropped = 0, pending_gap = 0;
  uint32_t last = 0;
  for (const auto& e : got) {
    if (e.probe_source == "telemetry.dropped") {
      ASSERT_TRUE(e.extras.count("dropped_count"));
      dropped += e.extras.at("dropped_count");
      pending_gap += e.extras.at("dropped_count");
      continue;
    }
    ASSERT_EQ(e.guest_pid, last + 1 + pending_gap) << "gap not reported exactly";
    pending_gap = 0;
    last = e.guest_pid;
    ++received;
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(received + dropped, 2000u);
}

TEST(Agent, ThrowingProbeIsDisabledAndTheRestKeepRunning) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n[[probes.thrower]]\nemit_first = 2\n"
      "[[probes.scripted]]\nevents = ['still.here seq x']\ninterval_ms = 2\nburst = 1\n" +
      capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] {
    return r.agent->err().find(
               "probes.thrower[0]: on_timer failed, probe disabled: thrower: "
               "failing on purpose") != std::string::npos;
  })) << r.agent->err();
  const auto before = t::read_captured(r.out_file("c")).size();
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() > before + 5; }));
  EXPECT_EQ(r.stop(), 0);
  size_t thrown = 0;
  for (const auto& e : t::read_captured(r.out_file("c")))
    thrown += e.probe_source == "thrower.event";
  EXPECT_EQ(thrown, 2u);
}

TEST(Agent, ProbeEmittingGarbageIsDisabledAndTheRestKeepRunning) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n"
      "[[probes.scripted]]\nevents = ['good.one 1 a', 'good.one 2 sixteen_bytes_xx']\n"
      "[[probes.scripted]]\nevents = ['Bad/Source 3 b']\n"
      "[[probes.scripted]]\nevents = ['other.one seq c']\ninterval_ms = 2\nburst = 1\n" +
      capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] {
    return r.agent->err().find(
               "probes.scripted[0]: emit failed, probe disabled: guest_comm of "
               "16 bytes (the kernel's comm is at most 15)") != std::string::npos &&
           r.agent->err().find(
               "probes.scripted[1]: emit failed, probe disabled: probe_source "
               "'Bad/Source' is not of the form") != std::string::npos;
  })) << r.agent->err();
  const auto before = t::read_captured(r.out_file("c")).size();
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() > before + 3; }));
  EXPECT_EQ(r.stop(), 0);
  std::set<std::string> sources;
  for (const auto& e : t::read_captured(r.out_file("c"))) sources.insert(e.probe_source);
  EXPECT_EQ(sources, (std::set<std::string>{"good.one", "other.one"}));
}

// Names belong to someone: the scripted fixture declares a fixed list (good.one and other.one
// among them, not undeclared.name, and never the core's telemetry.*). The first name outside it
// disables that instance alone, with one message naming the plugin, the name and the list.
TEST(Agent, ProbeEmittingAnUndeclaredNameIsDisabledAndTheRestKeepRunning) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n"
      "[[probes.scripted]]\nevents = ['good.one 1 a', 'undeclared.name 2 b', 'good.one 3 c']\n"
      "interval_ms = 2\nburst = 1\n"
      "[[probes.scripted]]\nevents = ['telemetry.dropped 4 d']\n"
      "[[probes.scripted]]\nevents = ['other.one seq c']\ninterval_ms = 2\nburst = 1\n" +
      capture(r.dir, "c"));
  const std::string declared =
      "' is not among the names plugin 'scripted' declares it emits (scripted.*, process.*, "
      "custom.*, soak.*, test.*, a.b, still.here, good.one, other.one)";
  ASSERT_TRUE(t::eventually([&] {
    return r.agent->err().find(
               "probes.scripted[0]: emit failed, probe disabled: probe_source "
               "'undeclared.name" +
               declared) != std::string::npos &&
           r.agent->err().find(
               "probes.scripted[1]: emit failed, probe disabled: probe_source "
               "'telemetry.dropped" +
               declared) != std::string::npos;
  })) << r.agent->err();
  const auto before = t::read_captured(r.out_file("c")).size();
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() > before + 3; }));
  EXPECT_EQ(r.stop(), 0);
  std::multiset<std::string> sources;
  for (const auto& e : t::read_captured(r.out_file("c"))) sources.insert(e.probe_source);
  EXPECT_EQ(sources.count("good.one"), 1u);  // before the undeclared name; nothing after it
  EXPECT_EQ(sources.count("undeclared.name"), 0u);
  EXPECT_EQ(sources.count("telemetry.dropped"), 0u);
  EXPECT_GT(sources.count("other.one"), 3u);
  const std::string err = r.agent->err();
  const std::string once = "probes.scripted[1]: emit failed";  // emitted a million, said once
  EXPECT_EQ(err.find(once, err.find(once) + 1), std::string::npos) << err;
}

TEST(Agent, ProbeThatBlocksPastTheCallLimitIsDisabled) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\ncall_time_limit_ms = 50\n"
      "[[probes.thrower]]\nwhen = \"never\"\nblock_timer_ms = 200\n"
      "[[probes.scripted]]\nevents = ['other.one seq c']\ninterval_ms = 2\nburst = 1\n" +
      capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] {
    return r.agent->err().find("probes.thrower[0]: on_timer failed, probe disabled: took ") !=
           std::string::npos;
  })) << r.agent->err();
  EXPECT_NE(r.agent->err().find("over the limit of 50 ms ([agent] call_time_limit_ms)"),
            std::string::npos);
  const auto before = t::read_captured(r.out_file("c")).size();
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() > before + 3; }));
  EXPECT_EQ(r.stop(), 0);
}

TEST(Agent, FailingSinkIsDisabledAndOtherSinksKeepTheirEvents) {
  Running r;
  r.start(
      "[agent]\nheartbeat_interval_ms = 0\n[[probes.scripted]]\nevents = ['a.b seq x']\n"
      "total = 100\ninterval_ms = 1\nburst = 1\n" +
      capture(r.dir, "bad", "fail_after = 5") + capture(r.dir, "good"));
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("good")).size() == 100; }));
  EXPECT_EQ(r.stop(), 0);
  EXPECT_EQ(t::read_captured(r.out_file("bad")).size(), 5u);
  EXPECT_NE(r.agent->err().find("sinks.capture[0]: consume failed, sink disabled: capture sink "
                                "failing on purpose after 5 events"),
            std::string::npos)
      << r.agent->err();
}

TEST(Agent, HeartbeatIsSentWhenIdle) {
  Running r;
  r.start("[agent]\nheartbeat_interval_ms = 20\n" + capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() >= 2; }));
  EXPECT_EQ(r.stop(), 0);
  const auto got = t::read_captured(r.out_file("c"));
  EXPECT_EQ(got[0].probe_source, "agent.heartbeat");
  EXPECT_EQ(got[0].guest_pid, static_cast<uint32_t>(r.agent->pid()));
  EXPECT_LT(got[0].guest_monotonic_ns, got[1].guest_monotonic_ns);
}

TEST(Agent, InvalidUtf8CommIsRepairedBeforeAnySinkSeesIt) {
  Running r;
  r.start("[[probes.scripted]]\nevents = ['a.b 1 ok\\xc3\\x28\\xff']\ntotal = 1\n" +
          capture(r.dir, "c"));
  ASSERT_TRUE(t::eventually([&] { return t::read_captured(r.out_file("c")).size() == 1; }));
  EXPECT_EQ(r.stop(), 0);
  EXPECT_EQ(t::read_captured(r.out_file("c"))[0].guest_comm, "ok\xEF\xBF\xBD(\xEF\xBF\xBD");
}

}  // namespace
