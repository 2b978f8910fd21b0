#include "process_ledger.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "event_reader.hpp"

namespace tr = cellos::telemetry::tree;

namespace {

tr::Ledger ledger_of(const std::string& lines) {
  tr::Ledger ledger;
  std::istringstream in(lines);
  tr::read_events(in, "test", [&](tr::Event&& e) { ledger.apply(e); });
  return ledger;
}

const tr::Process& only(const tr::Ledger& l, uint32_t pid) {
  const tr::Process* found = nullptr;
  for (const auto& p : l.processes()) {
    if (p.pid == pid) {
      EXPECT_EQ(found, nullptr) << "pid " << pid << " twice";
      found = &p;
    }
  }
  EXPECT_NE(found, nullptr) << "no pid " << pid;
  static const tr::Process none;
  return found ? *found : none;
}

}  // namespace

TEST(TreeLedger, ProcessIdIsTheIdentityAndParentIdTheLink) {
  // The parent's pid 10 is reused by an unrelated process before the child's spawn arrives:
  // parent_id, not ppid, says who the parent is.
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":10,"guest_comm":"sh","guest_monotonic_ns":100,"process_id":1010,"ppid":1,"parent_id":5,"start_ns":100}
{"probe_source":"process.spawned","guest_pid":11,"guest_comm":"sh","guest_monotonic_ns":200,"process_id":1011,"ppid":10,"parent_id":1010,"start_ns":200}
{"probe_source":"process.exec","guest_pid":11,"guest_comm":"sleep","guest_monotonic_ns":210,"process_id":1011,"exe":"/bin/sleep","argv":["sleep","9"],"cwd":"/"}
{"probe_source":"process.exited","guest_pid":11,"guest_comm":"sleep","guest_monotonic_ns":900,"process_id":1011,"exit_code":0,"duration_ns":700,"cpu_user_us":1,"cpu_system_us":2,"max_rss_kib":3}
)");
  ASSERT_EQ(l.processes().size(), 2u);
  const auto& sh = only(l, 10);
  const auto& sleep = only(l, 11);
  EXPECT_EQ(sleep.parent, std::optional<size_t>(0));
  EXPECT_EQ(sh.children, std::vector<size_t>{1});
  EXPECT_EQ(l.roots(), std::vector<size_t>{0});
  EXPECT_EQ(sleep.comm, "sleep");
  EXPECT_EQ(sleep.argv, (std::vector<std::string>{"sleep", "9"}));
  EXPECT_EQ(sleep.start_ns, 200u);
  EXPECT_EQ(sleep.end_ns, 900u);
  EXPECT_EQ(sleep.duration_ns, 700u);
  EXPECT_EQ(sleep.outcome(), tr::Outcome::kExitedOk);
  EXPECT_EQ(sh.outcome(), tr::Outcome::kRunning);
  EXPECT_EQ(l.first_ns(), 100u);
  EXPECT_EQ(l.last_ns(), 900u);
}

TEST(TreeLedger, WithoutProcessIdAReusedPidIsANewProcess) {
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":5,"guest_comm":"sh","guest_monotonic_ns":1}
{"probe_source":"process.spawned","guest_pid":200,"guest_comm":"a","guest_monotonic_ns":2,"ppid":5}
{"probe_source":"process.exited","guest_pid":200,"guest_comm":"a","guest_monotonic_ns":3,"exit_code":0}
{"probe_source":"process.spawned","guest_pid":200,"guest_comm":"b","guest_monotonic_ns":4,"ppid":5}
{"probe_source":"process.exited","guest_pid":200,"guest_comm":"b","guest_monotonic_ns":5,"exit_code":3}
)");
  ASSERT_EQ(l.processes().size(), 3u);
  const auto& a = l.processes()[1];
  const auto& b = l.processes()[2];
  EXPECT_EQ(a.comm, "a");
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(b.comm, "b");
  EXPECT_EQ(b.exit_code, 3);
  EXPECT_EQ(b.outcome(), tr::Outcome::kFailed);
  EXPECT_EQ(a.parent, std::optional<size_t>(0));
  EXPECT_EQ(b.parent, std::optional<size_t>(0));
  EXPECT_EQ(l.processes()[0].children, (std::vector<size_t>{1, 2}));
}

TEST(TreeLedger, KernelRecordsMarkTheProcessHoldingThePid) {
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":7,"guest_comm":"hog","guest_monotonic_ns":1,"process_id":70}
{"probe_source":"process.spawned","guest_pid":8,"guest_comm":"crash","guest_monotonic_ns":1,"process_id":80}
{"probe_source":"kernel.oom_kill","guest_pid":7,"guest_comm":"hog","guest_monotonic_ns":5}
{"probe_source":"process.exited","guest_pid":7,"guest_comm":"hog","guest_monotonic_ns":6,"process_id":70,"signal":9,"core_dumped":false}
{"probe_source":"process.exited","guest_pid":8,"guest_comm":"crash","guest_monotonic_ns":7,"process_id":80,"signal":11,"core_dumped":true}
{"probe_source":"kernel.segfault","guest_pid":8,"guest_comm":"crash","guest_monotonic_ns":8}
{"probe_source":"kernel.segfault","guest_pid":999,"guest_comm":"x","guest_monotonic_ns":9}
)");
  ASSERT_EQ(l.processes().size(), 2u);
  EXPECT_TRUE(only(l, 7).oom_killed);
  EXPECT_EQ(only(l, 7).outcome(), tr::Outcome::kOomKilled);
  EXPECT_TRUE(only(l, 8).segfault);
  EXPECT_TRUE(only(l, 8).core_dumped);
  EXPECT_EQ(only(l, 8).outcome(), tr::Outcome::kSegfault);
  EXPECT_TRUE(only(l, 8).failed());
}

TEST(TreeLedger, ResyncAndLossAreMarked) {
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":3,"guest_comm":"a","guest_monotonic_ns":1,"process_id":30,"start_ns":1}
{"probe_source":"process.lost","guest_pid":2,"guest_comm":"agent","guest_monotonic_ns":10,"lost_count":12}
{"probe_source":"process.exited","guest_pid":3,"guest_comm":"a","guest_monotonic_ns":11,"process_id":30,"resync":true}
{"probe_source":"process.spawned","guest_pid":4,"guest_comm":"b","guest_monotonic_ns":11,"process_id":40,"start_ns":9,"resync":true}
{"probe_source":"process.exited","guest_pid":6,"guest_comm":"c","guest_monotonic_ns":12,"process_id":60,"exit_code":0}
)");
  ASSERT_EQ(l.lost().size(), 1u);
  EXPECT_EQ(l.lost()[0].count, 12u);
  EXPECT_EQ(l.lost()[0].ns, 10u);
  EXPECT_TRUE(only(l, 3).lost_exit);
  EXPECT_TRUE(only(l, 3).exited);
  EXPECT_EQ(only(l, 3).outcome(), tr::Outcome::kUnknown);
  EXPECT_FALSE(only(l, 3).failed());
  EXPECT_TRUE(only(l, 4).lost_spawn);
  EXPECT_EQ(only(l, 4).start_ns, 9u);
  EXPECT_EQ(only(l, 4).outcome(), tr::Outcome::kRunning);
  // Seen only when it ended: its start was lost.
  EXPECT_TRUE(only(l, 6).lost_spawn);
  EXPECT_FALSE(only(l, 6).start_ns.has_value());
}

TEST(TreeLedger, InitialProcessesCarryTheirContextOnTheSpawnedEvent) {
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":1,"guest_comm":"init","guest_monotonic_ns":50,"process_id":10,"ppid":0,"parent_id":0,"start_ns":3,"initial":true,"exe":"/sbin/init","argv":["/sbin/init","splash"],"cwd":"/"}
{"probe_source":"process.exec","guest_pid":9,"guest_comm":"true","guest_monotonic_ns":60,"process_id":90,"raced":true}
)");
  EXPECT_TRUE(only(l, 1).initial);
  EXPECT_EQ(only(l, 1).argv, (std::vector<std::string>{"/sbin/init", "splash"}));
  EXPECT_EQ(only(l, 1).exe, "/sbin/init");
  EXPECT_TRUE(only(l, 9).raced);
  EXPECT_EQ(only(l, 9).comm, "true");
}

TEST(TreeLedger, VmLabelsInOrderOfAppearance) {
  auto l = ledger_of(R"(
{"vm":"b","probe_source":"agent.heartbeat","guest_pid":2,"guest_comm":"x","guest_monotonic_ns":1}
{"vm":"a","probe_source":"agent.heartbeat","guest_pid":2,"guest_comm":"x","guest_monotonic_ns":1}
{"vm":"b","probe_source":"agent.heartbeat","guest_pid":2,"guest_comm":"x","guest_monotonic_ns":1}
)");
  EXPECT_EQ(l.vms(), (std::vector<std::string>{"b", "a"}));
}

TEST(TreeLedger, ASecondSpawnOfAKnownProcessChangesNothingKnown) {
  // After a snapshot restore (or a restarted agent) the resync reports running processes again:
  // the first account stands.
  auto l = ledger_of(R"(
{"probe_source":"process.spawned","guest_pid":3,"guest_comm":"a","guest_monotonic_ns":10,"process_id":30,"ppid":1,"start_ns":10}
{"probe_source":"process.spawned","guest_pid":3,"guest_comm":"a","guest_monotonic_ns":90,"process_id":30,"ppid":1,"start_ns":10,"resync":true}
{"probe_source":"process.spawned","guest_pid":4,"guest_comm":"b","guest_monotonic_ns":95,"process_id":40,"start_ns":20,"initial":true}
{"probe_source":"process.spawned","guest_pid":4,"guest_comm":"b","guest_monotonic_ns":99,"process_id":40,"start_ns":20,"initial":true}
)");
  ASSERT_EQ(l.processes().size(), 2u);
  EXPECT_FALSE(only(l, 3).lost_spawn);
  EXPECT_EQ(only(l, 3).start_ns, 10u);
  EXPECT_TRUE(only(l, 4).initial);
}
