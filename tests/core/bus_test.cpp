// The bus driven in-process with fake sinks: routing, drop accounting, wake, heartbeats.
#include "bus.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

namespace ct = cellos::telemetry;

namespace {

constexpr uint32_t kAgentPid = 4242;
constexpr size_t kAll = std::numeric_limits<size_t>::max();

// What a fake sink was handed, copied out of the batch.
struct Got {
  std::string source;
  uint32_t pid = 0;
  std::string comm;
  uint64_t dropped_count = 0;                      // telemetry.dropped only
  uint64_t stream_id = 0, previous_stream_id = 0;  // agent.restored only
};

// A sink that takes at most `per_call` events per consume and at most `budget` in all until the
// test refills it; `fail` makes the next consume fail.
class FakeSink : public ct::SinkEndpoint {
 public:
  std::optional<size_t> consume(std::span<const ct_event* const> events) override {
    ++offers;
    if (fail) return std::nullopt;
    const size_t n = std::min({events.size(), per_call, budget});
    for (size_t i = 0; i < n; ++i) {
      const ct_event& e = *events[i];
      Got g{e.probe_source, e.guest_pid, e.guest_comm, 0};
      for (uint32_t x = 0; x < e.n_extras; ++x) {
        const std::string key = e.extras[x].key;
        if (key == "dropped_count") g.dropped_count = e.extras[x].value.as.u;
        if (key == "stream_id") g.stream_id = e.extras[x].value.as.u;
        if (key == "previous_stream_id") g.previous_stream_id = e.extras[x].value.as.u;
      }
      got.push_back(g);
    }
    if (budget != kAll) budget -= n;
    return n;
  }

  std::vector<std::string> sources() const {
    std::vector<std::string> out;
    for (const auto& g : got) out.push_back(g.source);
    return out;
  }
  size_t events_taken() const {  // everything but the bus's own telemetry.dropped reports
    size_t n = 0;
    for (const auto& g : got) n += g.source != "telemetry.dropped";
    return n;
  }

  std::vector<Got> got;
  size_t offers = 0;
  size_t per_call = kAll;
  size_t budget = kAll;
  bool fail = false;
};

ct::Bus make_bus() {
  return ct::Bus(ct::Bus::Origin{kAgentPid, "cellos-telemetr"});
}

void route(ct::Bus& bus, const char* source, uint32_t pid) {
  const ct_event e{sizeof(ct_event), source, pid, "worker", 1000 + pid, nullptr, 0};
  bus.route(e);
}

void expect_exact_account(const ct::Bus& bus, ct::Bus::SinkId id) {
  const ct::SinkQueue& q = bus.queue(id);
  EXPECT_EQ(q.total_pushed(), q.total_taken() + q.total_drops() + q.size()) << bus.exit_account(id);
}

TEST(Bus, RoutesEachEventToEverySinkWhoseGlobsMatch) {
  ct::Bus bus = make_bus();
  FakeSink processes, kernel_and_heartbeat, everything;
  const auto a = bus.add_sink(processes, {"process.*"}, 16);
  const auto b = bus.add_sink(kernel_and_heartbeat, {"kernel.oom_*", "agent.heartbeat"}, 16);
  const auto c = bus.add_sink(everything, {"*"}, 16);
  route(bus, "process.spawned", 1);
  route(bus, "kernel.oom_kill", 2);
  route(bus, "kernel.log", 3);
  route(bus, "process.exited", 4);
  bus.pump();
  EXPECT_EQ(processes.sources(), (std::vector<std::string>{"process.spawned", "process.exited"}));
  EXPECT_EQ(kernel_and_heartbeat.sources(), (std::vector<std::string>{"kernel.oom_kill"}));
  EXPECT_EQ(everything.sources(), (std::vector<std::string>{"process.spawned", "kernel.oom_kill",
                                                            "kernel.log", "process.exited"}));
  for (const auto id : {a, b, c}) {
    EXPECT_TRUE(bus.drained(id));
    expect_exact_account(bus, id);
  }
  EXPECT_EQ(bus.queue(a).total_pushed(), 2u);
  EXPECT_EQ(bus.queue(b).total_pushed(), 1u);
  EXPECT_EQ(bus.queue(c).total_pushed(), 4u);
}

TEST(Bus, FullQueueDropsItsOldestAndOffersTheExactCountBeforeAnythingNewer) {
  ct::Bus bus = make_bus();
  FakeSink sink;
  sink.budget = 0;  // takes nothing: disconnected
  const auto id = bus.add_sink(sink, {"*"}, 3);
  for (uint32_t pid = 1; pid <= 10; ++pid) route(bus, "process.spawned", pid);
  bus.pump();
  // Offered the drop report first, refused it, and was offered nothing newer.
  ASSERT_EQ(sink.offers, 1u);
  EXPECT_EQ(bus.queue(id).total_drops(), 7u);
  EXPECT_EQ(bus.queue(id).unreported_drops(), 7u);
  EXPECT_FALSE(bus.drained(id));

  sink.budget = kAll;
  bus.wake(id);
  bus.pump();
  ASSERT_EQ(sink.got.size(), 4u);
  EXPECT_EQ(sink.got[0].source, "telemetry.dropped");
  EXPECT_EQ(sink.got[0].dropped_count, 7u);
  EXPECT_EQ(sink.got[0].pid, kAgentPid);  // about the agent itself
  EXPECT_EQ(sink.got[0].comm, "cellos-telemetr");
  for (uint32_t i = 1; i <= 3; ++i) EXPECT_EQ(sink.got[i].pid, 7 + i);  // the newest three
  EXPECT_TRUE(bus.drained(id));
  EXPECT_EQ(bus.queue(id).total_taken(), 3u);
  expect_exact_account(bus, id);
}

// A probe handling a burst routes thousands of events in one callback before the loop pumps: a
// sink able to take them loses none to a queue smaller than the burst.
TEST(Bus, BurstLargerThanTheQueueReachesASinkThatKeepsUp) {
  ct::Bus bus = make_bus();
  FakeSink sink;
  const auto id = bus.add_sink(sink, {"*"}, 100);
  for (uint32_t pid = 1; pid <= 4096; ++pid) route(bus, "process.spawned", pid);
  bus.pump();
  EXPECT_EQ(bus.queue(id).total_drops(), 0u);
  ASSERT_EQ(sink.events_taken(), 4096u);
  for (uint32_t i = 0; i < 4096; ++i) EXPECT_EQ(sink.got[i].pid, i + 1);  // in order
  expect_exact_account(bus, id);
}

// Issue 15: agent.restored marks where each sink's new stream begins, so it must sit exactly
// between what was routed before the change and after, reach sinks whatever their globs, and
// never be one of the events a full queue drops.
TEST(Bus, RestoreIsOfferedToEverySinkBetweenTheEventsRoutedBeforeAndAfter) {
  ct::Bus bus = make_bus();
  FakeSink processes, everything;
  processes.budget = 0;  // disconnected while the generation changes
  const auto a = bus.add_sink(processes, {"process.*"}, 16);
  const auto b = bus.add_sink(everything, {"*"}, 16);
  route(bus, "process.spawned", 1);
  route(bus, "process.spawned", 2);
  bus.pump();
  bus.restore(9, 7);
  route(bus, "process.spawned", 3);
  EXPECT_FALSE(bus.drained(a));
  processes.budget = kAll;
  bus.wake(a);
  bus.pump();
  for (const FakeSink* s : {&processes, &everything}) {
    ASSERT_EQ(s->sources(), (std::vector<std::string>{"process.spawned", "process.spawned",
                                                      "agent.restored", "process.spawned"}));
    EXPECT_EQ(s->got[2].stream_id, 9u);
    EXPECT_EQ(s->got[2].previous_stream_id, 7u);
    EXPECT_EQ(s->got[2].pid, kAgentPid);
    EXPECT_EQ(s->got[3].pid, 3u);
  }
  for (const auto id : {a, b}) {
    EXPECT_TRUE(bus.drained(id));
    expect_exact_account(bus, id);
  }
}

TEST(Bus, RestoreIsNeverDroppedFromAFullQueue) {
  ct::Bus bus = make_bus();
  FakeSink sink;
  sink.budget = 0;
  const auto id = bus.add_sink(sink, {"*"}, 3);
  for (uint32_t pid = 1; pid <= 5; ++pid) route(bus, "process.spawned", pid);
  bus.restore(9, 7);
  bus.restore(11, 9);  // a second change before the sink took anything
  for (uint32_t pid = 6; pid <= 10; ++pid) route(bus, "process.spawned", pid);
  bus.pump();
  sink.budget = kAll;
  bus.wake(id);
  bus.pump();
  // The drops (of both streams: one count, before anything newer), both changes, the newest.
  ASSERT_EQ(sink.sources(),
            (std::vector<std::string>{"telemetry.dropped", "agent.restored", "agent.restored",
                                      "process.spawned", "process.spawned", "process.spawned"}));
  EXPECT_EQ(sink.got[0].dropped_count, 7u);
  EXPECT_EQ(sink.got[1].stream_id, 9u);
  EXPECT_EQ(sink.got[2].stream_id, 11u);
  EXPECT_EQ(sink.got[2].previous_stream_id, 9u);
  EXPECT_EQ(sink.got[3].pid, 8u);
  EXPECT_TRUE(bus.drained(id));
  expect_exact_account(bus, id);
}

TEST(Bus, SinkThatTookAPrefixIsOfferedNothingMoreUntilWoken) {
  ct::Bus bus = make_bus();
  FakeSink sink;
  sink.budget = 2;
  const auto id = bus.add_sink(sink, {"*"}, 100);
  for (uint32_t pid = 1; pid <= 5; ++pid) route(bus, "process.spawned", pid);
  bus.pump();
  EXPECT_EQ(sink.offers, 1u);
  EXPECT_EQ(sink.got.size(), 2u);
  EXPECT_EQ(bus.queue(id).size(), 3u);

  // New events, more pumps, even room on the sink's side: nothing is offered without a wake.
  sink.budget = kAll;
  route(bus, "process.spawned", 6);
  bus.pump();
  bus.pump();
  EXPECT_EQ(sink.offers, 1u);

  bus.wake(id);
  bus.pump();
  ASSERT_EQ(sink.got.size(), 6u);
  for (uint32_t i = 0; i < 6; ++i) EXPECT_EQ(sink.got[i].pid, i + 1);  // in order, none twice
  EXPECT_TRUE(bus.drained(id));
  expect_exact_account(bus, id);
}

TEST(Bus, HeartbeatGoesOnlyToMatchingSinksThatWereRoutedNothingElse) {
  ct::Bus bus = make_bus();
  FakeSink processes, everything, no_heartbeat;
  bus.add_sink(processes, {"process.*", "agent.heartbeat"}, 16);
  bus.add_sink(everything, {"*"}, 16);
  bus.add_sink(no_heartbeat, {"kernel.*"}, 16);

  route(bus, "kernel.log", 1);  // feeds `everything` and `no_heartbeat`
  bus.heartbeat();
  bus.pump();
  EXPECT_EQ(processes.sources(), (std::vector<std::string>{"agent.heartbeat"}));
  EXPECT_EQ(processes.got[0].pid, kAgentPid);
  EXPECT_EQ(everything.sources(), (std::vector<std::string>{"kernel.log"}));
  EXPECT_EQ(no_heartbeat.sources(), (std::vector<std::string>{"kernel.log"}));

  bus.heartbeat();  // a quiet interval: both sinks that want heartbeats get one
  bus.pump();
  EXPECT_EQ(processes.sources(), (std::vector<std::string>{"agent.heartbeat", "agent.heartbeat"}));
  EXPECT_EQ(everything.sources(), (std::vector<std::string>{"kernel.log", "agent.heartbeat"}));
  EXPECT_EQ(no_heartbeat.sources(), (std::vector<std::string>{"kernel.log"}));
}

// A storm into a small queue, drained by a sink that takes a few events at a time and then
// waits to be woken: every event routed is either taken, dropped or still queued, and each
// telemetry.dropped it gets says exactly how many events are missing at that point of its stream.
TEST(Bus, AccountingIsExactUnderAStormWithASlowSink) {
  ct::Bus bus = make_bus();
  FakeSink slow, fast;
  const auto s = bus.add_sink(slow, {"*"}, 64);
  const auto f = bus.add_sink(fast, {"*"}, 64);
  std::mt19937 rng(12345);  // fixed: the same interleaving on every run
  uint32_t seq = 0;
  for (int round = 0; round < 2000; ++round) {
    const uint32_t burst = rng() % 50;
    for (uint32_t i = 0; i < burst; ++i) route(bus, "process.spawned", ++seq);
    slow.per_call = 1 + rng() % 8;
    slow.budget = rng() % 3 == 0 ? kAll : rng() % 20;
    if (rng() % 2 == 0) bus.wake(s);
    bus.pump();
  }
  ASSERT_GT(bus.queue(s).total_drops(), 0u) << "the storm must overflow the slow sink";

  for (const auto& [sink, id] : {std::pair{&slow, s}, std::pair{&fast, f}}) {
    const ct::SinkQueue& q = bus.queue(id);
    expect_exact_account(bus, id);
    EXPECT_EQ(sink->events_taken(), q.total_taken());
    // Walk the stream: a gap in seq is allowed only right after telemetry.dropped reports adding
    // up to exactly its size.
    uint64_t reported = 0, pending_report = 0;
    uint32_t last = 0;
    for (const Got& g : sink->got) {
      if (g.source == "telemetry.dropped") {
        pending_report += g.dropped_count;  // refused events after a report: another follows
        reported += g.dropped_count;
        continue;
      }
      EXPECT_EQ(g.pid - last - 1, pending_report) << "at seq " << g.pid;
      pending_report = 0;
      last = g.pid;
    }
    EXPECT_EQ(reported + q.unreported_drops(), q.total_drops());
  }
  EXPECT_EQ(bus.queue(f).total_drops(), 0u);
  EXPECT_EQ(fast.events_taken(), seq);
}

TEST(Bus, SinkThatTakesNothingNeverHoldsBackAnother) {
  ct::Bus bus = make_bus();
  FakeSink stuck, live;
  stuck.budget = 0;
  const auto a = bus.add_sink(stuck, {"*"}, 10);
  const auto b = bus.add_sink(live, {"*"}, 10);
  for (uint32_t pid = 1; pid <= 1000; ++pid) {
    route(bus, "process.spawned", pid);
    bus.pump();
  }
  EXPECT_EQ(live.got.size(), 1000u);
  EXPECT_EQ(bus.queue(b).total_drops(), 0u);
  EXPECT_EQ(stuck.offers, 1u);  // once, then it waits for a wake that never comes
  EXPECT_EQ(bus.queue(a).total_drops(), 990u);
  EXPECT_EQ(bus.queue(a).size(), 10u);
  expect_exact_account(bus, a);
  expect_exact_account(bus, b);
}

TEST(Bus, FailedSinkIsRetiredWithItsQueueCountedAsDropped) {
  ct::Bus bus = make_bus();
  FakeSink failing, live;
  failing.budget = 0;
  const auto a = bus.add_sink(failing, {"*"}, 10);
  const auto b = bus.add_sink(live, {"*"}, 10);
  for (uint32_t pid = 1; pid <= 4; ++pid) route(bus, "process.spawned", pid);
  bus.pump();
  failing.fail = true;
  bus.wake(a);
  bus.pump();
  EXPECT_FALSE(bus.in_service(a));
  EXPECT_EQ(bus.queue(a).total_drops(), 4u);
  route(bus, "process.spawned", 5);  // not queued for the failed sink any more
  bus.wake(a);
  bus.pump();
  EXPECT_EQ(failing.offers, 2u);
  EXPECT_EQ(bus.queue(a).total_pushed(), 4u);
  EXPECT_EQ(bus.retire(a), 0u);  // twice does nothing
  expect_exact_account(bus, a);
  EXPECT_EQ(live.got.size(), 5u);
  EXPECT_TRUE(bus.drained(b));
  EXPECT_EQ(bus.exit_account(a),
            "4 event(s) queued, 0 taken by the sink, 4 dropped, 0 left at exit");
}

}  // namespace
