// The soak's bookkeeping on hand-written receiver output: a wrong count here would make the
// soak's "exact" meaningless, so its rules are pinned down without an agent.
#include "accounting.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace soak = cellos::telemetry::soak;

namespace {

std::string line(const std::string& source, uint32_t pid, const std::string& comm, uint64_t ns,
                 const std::string& extra = "") {
  return "{\"content_version\":" + std::string(extra.empty() ? "256" : "257") +
         ",\"probe_source\":\"" + source + "\",\"guest_pid\":" + std::to_string(pid) +
         ",\"guest_comm\":\"" + comm + "\",\"guest_monotonic_ns\":" + std::to_string(ns) + extra +
         "}\n";
}

std::string dropped(uint32_t agent, uint64_t ns, uint64_t count) {
  return line("telemetry.dropped", agent, "cellos-telemetr", ns,
              ",\"dropped_count\":" + std::to_string(count));
}

std::string lost(uint32_t agent, uint64_t ns, uint64_t count) {
  return line("process.lost", agent, "cellos-telemetr", ns,
              ",\"lost_count\":" + std::to_string(count));
}

void add(soak::Ledger& l, const std::string& text, bool killed) {
  std::istringstream in(text);
  l.add_receiver_output(in, killed);
}

constexpr uint32_t kAgent = 900;

}  // namespace

TEST(SoakAccounting, ParsesRecvLinesWithEscapesAndExtras) {
  const auto w = soak::parse_wire_line(
      R"({"content_version":257,"probe_source":"telemetry.dropped","guest_pid":7,)"
      R"("guest_comm":"a\"b\\c}","guest_monotonic_ns":18446744073709551615,"dropped_count":3})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->probe_source, "telemetry.dropped");
  EXPECT_EQ(w->guest_pid, 7u);
  EXPECT_EQ(w->guest_comm, R"(a\"b\\c})");  // as printed: identity only
  EXPECT_EQ(w->guest_monotonic_ns, UINT64_MAX);
  EXPECT_EQ(w->dropped_count, 3u);
  // The stdout sink's lines have no content_version.
  EXPECT_TRUE(soak::parse_wire_line(
      R"({"probe_source":"x.y","guest_pid":1,"guest_comm":"","guest_monotonic_ns":2})"));
}

TEST(SoakAccounting, ParsesTheProcessLedgersBooleansListsAndNegatives) {
  // recv prints every typed extra: booleans, lists of text (argv) and negative integers too.
  const auto w = soak::parse_wire_line(
      R"({"content_version":257,"probe_source":"process.exec","guest_pid":9,"guest_comm":"true",)"
      R"("guest_monotonic_ns":5,"process_id":42,"exe":"/usr/bin/true","argv":["/bin/true","a]b",)"
      R"("",")\"]"],"argv_truncated":true,"raced":false,"nice":-5,"empty":[]})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->probe_source, "process.exec");
  EXPECT_EQ(w->guest_pid, 9u);
  EXPECT_EQ(w->guest_monotonic_ns, 5u);
  EXPECT_FALSE(soak::parse_wire_line(
      R"({"probe_source":"x.y","guest_pid":1,"guest_comm":"","guest_monotonic_ns":2,"l":["a")"));
  EXPECT_FALSE(soak::parse_wire_line(
      R"({"probe_source":"x.y","guest_pid":1,"guest_comm":"","guest_monotonic_ns":2,"b":tru})"));
}

TEST(SoakAccounting, RefusesCutAndIncompleteLines) {
  const std::string whole = line("process.spawned", 1, "sh", 5);
  for (size_t n = 0; n + 1 < whole.size(); ++n) {  // every prefix short of the closing brace
    EXPECT_FALSE(soak::parse_wire_line(whole.substr(0, n))) << whole.substr(0, n);
  }
  EXPECT_FALSE(soak::parse_wire_line(R"({"probe_source":"x.y","guest_pid":1,"guest_comm":"a"})"));
  EXPECT_FALSE(soak::parse_wire_line(
      R"({"probe_source":"x.y","guest_pid":4294967296,"guest_comm":"","guest_monotonic_ns":2})"));
  EXPECT_FALSE(soak::parse_wire_line(
      R"({"probe_source":"x.y","guest_pid":1,"guest_comm":"","guest_monotonic_ns":2}x)"));
}

TEST(SoakAccounting, DuplicatesAcrossReceiversCountOnce) {
  soak::Ledger l;
  add(l, line("process.spawned", 10, "sh", 100) + line("process.exited", 10, "sh", 200), true);
  // The next receiver gets the unconsumed tail again, then new events.
  add(l, line("process.exited", 10, "sh", 200) + line("process.spawned", 11, "sh", 300), false);
  const auto t = l.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.lines, 4u);
  EXPECT_EQ(t.unique, 3u);
  EXPECT_EQ(t.duplicates, 1u);
  EXPECT_EQ(t.events, 3u);
  // Same pid and source at another time is another event.
  soak::Ledger l2;
  add(l2, line("process.spawned", 10, "sh", 100) + line("process.spawned", 10, "sh", 101), false);
  EXPECT_EQ(l2.tally(kAgent, {}, "soak-storm").unique, 2u);
}

TEST(SoakAccounting, CoreReportsAreNotEventsProbeReportsAre) {
  soak::Ledger l;
  // Core report (ns 50, sent twice), the probe's process.lost at the same instant (told apart by
  // probe_source alone), a telemetry.dropped from another pid (an ordinary event), a heartbeat.
  add(l, dropped(kAgent, 50, 7) + lost(kAgent, 50, 3) + dropped(kAgent + 1, 70, 9), true);
  add(l, dropped(kAgent, 50, 7) + line("agent.heartbeat", kAgent, "cellos-telemetr", 80), false);
  const auto t = l.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.core_reports, 1u);
  EXPECT_EQ(t.core_dropped, 7u);
  EXPECT_EQ(t.probe_reports, 1u);
  EXPECT_EQ(t.probe_dropped, 3u);
  EXPECT_EQ(t.events, 3u);  // probe report, other pid's, heartbeat
  EXPECT_EQ(t.by_source.at("telemetry.dropped"), 1u);
  EXPECT_EQ(t.by_source.at("process.lost"), 1u);
  EXPECT_EQ(t.by_source.at("agent.heartbeat"), 1u);
  EXPECT_EQ(t.conflicting_duplicates, 0u);
}

TEST(SoakAccounting, ACutLastLineIsExpectedOnlyFromAKilledReceiver) {
  const std::string cut = line("process.exec", 3, "true", 9).substr(0, 30);  // no newline
  soak::Ledger killed;
  add(killed, line("process.spawned", 3, "sh", 8) + cut, true);
  auto t = killed.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.cut_last_lines, 1u);
  EXPECT_EQ(t.malformed_lines, 0u);
  EXPECT_EQ(t.unique, 1u);

  soak::Ledger stopped;  // exited normally: a cut line is a bug
  add(stopped, line("process.spawned", 3, "sh", 8) + cut, false);
  EXPECT_EQ(stopped.tally(kAgent, {}, "soak-storm").malformed_lines, 1u);

  soak::Ledger middle;  // a bad line with more after it cannot be a SIGKILL's doing
  add(middle, cut + "\n" + line("process.spawned", 3, "sh", 8), true);
  t = middle.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.malformed_lines, 1u);
  EXPECT_EQ(t.cut_last_lines, 0u);

  soak::Ledger terminated;  // a whole line that is wrong, even last, is not a cut write
  add(terminated, cut + "\n", true);
  EXPECT_EQ(terminated.tally(kAgent, {}, "soak-storm").malformed_lines, 1u);
}

TEST(SoakAccounting, ConflictingDuplicatesAreFlagged) {
  soak::Ledger l;
  add(l, dropped(kAgent, 50, 7), true);
  add(l, dropped(kAgent, 50, 8), false);
  EXPECT_EQ(l.tally(kAgent, {}, "soak-storm").conflicting_duplicates, 1u);
}

TEST(SoakAccounting, StormCoverageHonoursPidReuseAndNames) {
  soak::StormStarts s;
  s.all = {{10, 2}, {11, 1}};  // pid 10 held by two storm processes, one of them exec'd
  s.execed = {{10, 1}};
  s.total = 3;
  s.total_execed = 1;
  soak::Ledger l;
  add(l,
      line("process.spawned", 10, "soak-storm", 1) + line("process.exited", 10, "soak-storm", 2) +
          line("process.spawned", 10, "true", 3) + line("process.exec", 10, "true", 4) +
          line("process.exited", 10, "true", 5) +
          // A third holder of pid 10 outside the storm, and one more spawned than started.
          line("process.spawned", 10, "make", 6) + line("process.spawned", 11, "soak-storm", 7) +
          line("process.spawned", 11, "soak-storm", 8),
      false);
  const auto t = l.tally(kAgent, s, "soak-storm");
  EXPECT_EQ(t.storm_spawned, 3u);  // 2 for pid 10 (make excluded), 1 for pid 11 (capped)
  EXPECT_EQ(t.storm_exec, 1u);
  EXPECT_EQ(t.storm_exited, 2u);
}

TEST(SoakAccounting, ScriptedSequenceGaps) {
  soak::Ledger l;
  add(l,
      line("soak.event", 1, "soak", 1) + line("soak.event", 2, "soak", 2) +
          line("soak.event", 5, "soak", 5),
      false);
  const auto t = l.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.scripted_max, 5u);
  EXPECT_EQ(t.scripted_missing, 2u);
}

TEST(SoakAccounting, SinkAccountFromTheAgentLog) {
  const std::string log =
      "cellos-telemetry: info: sinks.vsock[0]: stopping: 3 frames over 1 connection\n"
      "cellos-telemetry: info: sinks.vsock[0]: 120 event(s) queued, 100 taken by the sink, 15 "
      "dropped, 5 left at exit\n"
      "cellos-telemetry: info: sinks.stdout[0]: 2 event(s) queued, 2 taken by the sink, 0 "
      "dropped, 0 left at exit\n";
  const auto a = soak::parse_sink_account(log, "sinks.vsock[0]");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->queued, 120u);
  EXPECT_EQ(a->taken, 100u);
  EXPECT_EQ(a->dropped, 15u);
  EXPECT_EQ(a->left, 5u);
  EXPECT_EQ(soak::parse_sink_account(log, "sinks.stdout[0]")->queued, 2u);
  EXPECT_FALSE(soak::parse_sink_account(log, "sinks.vsock[1]"));
}

namespace {

// Issue 15: the vsock sink introduces every connection with agent.hello, a frame of its own.
TEST(SoakAccounting, HellosAreTheConnectionsNotEvents) {
  soak::Ledger l;
  add(l, line("agent.hello", kAgent, "cellos-telemetr", 10) + dropped(kAgent, 50, 7), true);
  add(l, line("agent.hello", kAgent, "cellos-telemetr", 90), false);
  const auto t = l.tally(kAgent, {}, "soak-storm");
  EXPECT_EQ(t.hellos, 2u);
  EXPECT_EQ(t.events, 0u);
  EXPECT_EQ(t.core_reports, 1u);
}

}  // namespace
