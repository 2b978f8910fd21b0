// Recorded records through KernelEvents: which events come out, with which extras, in order.
#include "kernel_events.hpp"

#include <gtest/gtest.h>

#include "record_file.hpp"

namespace ck = cellos::telemetry::kernel;
namespace kt = cellos::telemetry::kernel::testing;

namespace {

struct Feed {
  explicit Feed(ck::KernelEventsConfig c = {})
      : events(with_self(c), [this](const auto& b) { seen.push_back(kt::seen(b.event())); }) {}
  static ck::KernelEventsConfig with_self(ck::KernelEventsConfig c) {
    c.self_pid = 1234;
    c.self_comm = "agent";
    return c;
  }
  void feed(const std::string& file, uint64_t now = 1) {
    for (const auto& r : kt::read_records(file)) feed_one(r, now);
  }
  void feed_one(const std::string& read, uint64_t now = 1) {
    const auto r = ck::parse_kmsg_record(read);
    ASSERT_TRUE(r) << read;
    events.handle(*r, now);
  }
  std::vector<kt::Seen> of(const std::string& source) const {
    std::vector<kt::Seen> out;
    for (const auto& s : seen) {
      if (s.source == source) out.push_back(s);
    }
    return out;
  }
  std::vector<kt::Seen> seen;
  ck::KernelEvents events;
};

}  // namespace

TEST(KernelEvents, OomKillJoinsTheVictimWithItsCompanion) {
  Feed run;
  run.feed("oom_memcg.txt");
  // The whole 80-record report gives one event: the rest is level 4 and 6, below min_level 3.
  ASSERT_EQ(run.seen.size(), 1u);
  const kt::Seen& e = run.seen[0];
  EXPECT_EQ(e.source, "kernel.oom_kill");
  EXPECT_EQ(e.pid, 25267u);
  EXPECT_EQ(e.comm, "hog");
  EXPECT_EQ(e.keys, (std::vector<std::string>{"uid", "total_vm_kib", "anon_rss_kib", "file_rss_kib",
                                              "shmem_rss_kib", "oom_score_adj", "constraint",
                                              "memcg", "kmsg_seq"}));
  EXPECT_EQ(e.extras.at("uid"), "0");
  EXPECT_EQ(e.extras.at("total_vm_kib"), "35372");
  EXPECT_EQ(e.extras.at("anon_rss_kib"), "32640");
  EXPECT_EQ(e.extras.at("file_rss_kib"), "860");
  EXPECT_EQ(e.extras.at("shmem_rss_kib"), "0");
  EXPECT_EQ(e.extras.at("oom_score_adj"), "0");
  EXPECT_EQ(e.extras.at("constraint"), "CONSTRAINT_MEMCG");
  EXPECT_EQ(e.extras.at("memcg"), "/ct-kmsg-rec");
  EXPECT_EQ(e.extras.at("kmsg_seq"), "445");
}

TEST(KernelEvents, CompanionOfAnotherPidIsNotJoined) {
  Feed run;
  run.feed_one("6,1,1,-;oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/x,task=a,pid=7,uid=0\n");
  run.feed_one(
      "3,2,1,-;Out of memory: Killed process 8 (b) total-vm:1kB, anon-rss:1kB, "
      "file-rss:0kB, shmem-rss:0kB, UID:5 pgtables:1kB oom_score_adj:-1000\n");
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].extras.count("memcg"), 0u);
  EXPECT_EQ(run.seen[0].extras.at("uid"), "5");
  EXPECT_EQ(run.seen[0].extras.at("oom_score_adj"), "-1000");
}

TEST(KernelEvents, ForgedUserRecordsGiveNothing) {
  // Root wrote an OOM-kill line (and others) through /dev/kmsg: user facility, not the kernel.
  ck::KernelEventsConfig c;
  c.min_level = 7;  // even kernel.log, which takes any level
  Feed run(c);
  run.feed("user_forged.txt");
  EXPECT_TRUE(run.seen.empty());
}

TEST(KernelEvents, SegfaultAndTraps) {
  Feed run;
  run.feed("segfault.txt");
  run.feed("traps.txt");
  ASSERT_EQ(run.seen.size(), 6u);  // 2 segfaults, 1 gap (kernel.lost), 3 traps
  const auto segv = run.of("kernel.segfault");
  ASSERT_EQ(segv.size(), 2u);
  EXPECT_EQ(segv[0].pid, 25143u);
  EXPECT_EQ(segv[0].comm, "segv");
  EXPECT_EQ(segv[0].keys, (std::vector<std::string>{"address", "ip", "sp", "error", "object"}));
  EXPECT_EQ(segv[0].extras.at("address"), "16");
  EXPECT_EQ(segv[0].extras.at("ip"), std::to_string(0x557ac4da3139ull));
  EXPECT_EQ(segv[0].extras.at("error"), "4");
  EXPECT_EQ(segv[0].extras.at("object"), "segv");
  const auto traps = run.of("kernel.trap");
  ASSERT_EQ(traps.size(), 3u);
  EXPECT_EQ(traps[2].comm, "gp");
  EXPECT_EQ(traps[2].pid, 26094u);
  EXPECT_EQ(traps[2].keys, (std::vector<std::string>{"trap", "ip", "sp", "error", "object"}));
  EXPECT_EQ(traps[2].extras.at("trap"), "general protection fault");
}

TEST(KernelEvents, SequenceGapIsCountedLoss) {
  Feed run;
  run.feed_one("6,10,1,-;a\n");
  run.feed_one("6,11,1,-;b\n");
  run.events.overwritten();
  run.feed_one("6,15,1,-;c\n");  // 12, 13 and 14 were overwritten before they were read
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].source, "kernel.lost");
  EXPECT_EQ(run.seen[0].pid, 1234u);
  EXPECT_EQ(run.seen[0].comm, "agent");
  EXPECT_EQ(run.seen[0].extras.at("lost_count"), "3");
}

TEST(KernelEvents, OverwrittenBeforeTheFirstReadIsAtLeastOne) {
  Feed run;
  run.events.overwritten();
  run.feed_one("6,100,1,-;a\n");
  ASSERT_EQ(run.seen.size(), 1u);
  EXPECT_EQ(run.seen[0].extras.at("lost_count"), "1");
}

TEST(KernelEvents, HungTaskWarningAndLog) {
  Feed run;
  run.feed("hung_task_and_warning.txt");
  std::vector<std::string> sources;
  for (const auto& s : run.seen) sources.push_back(s.source);
  // The two lines after the hung task are level 3: kernel.log; "cut here" and "Modules linked
  // in" are level 4; #PF is level 1.
  EXPECT_EQ(sources, (std::vector<std::string>{"kernel.hung_task", "kernel.log", "kernel.log",
                                               "kernel.warning", "kernel.warning", "kernel.log",
                                               "kernel.warning", "kernel.warning"}));
  EXPECT_EQ(run.seen[0].pid, 4242u);
  EXPECT_EQ(run.seen[0].comm, "ct-stuck");
  EXPECT_EQ(run.seen[0].extras.at("blocked_s"), "122");
  EXPECT_EQ(run.seen[3].pid, 4243u);
  EXPECT_EQ(run.seen[3].extras.at("message").substr(0, 22), "WARNING: CPU: 1 PID: 4");
  EXPECT_EQ(run.seen[1].extras.at("level"), "3");
  EXPECT_EQ(run.seen[1].extras.at("suppressed"), "0");
  EXPECT_EQ(run.seen[1].pid, 0u);
  EXPECT_EQ(run.seen[1].comm, "");
}

TEST(KernelEvents, MinLevelChoosesWhichOtherRecordsAreLogged) {
  ck::KernelEventsConfig c;
  c.min_level = 6;
  c.log_burst = 1000;
  Feed run(c);
  run.feed("boot_continuation.txt");
  // 4 records at level 6, a gap (seq 95 to 186), 10 more.
  EXPECT_EQ(run.of("kernel.log").size(), 14u);
  ASSERT_EQ(run.of("kernel.lost").size(), 1u);
  EXPECT_EQ(run.of("kernel.lost")[0].extras.at("lost_count"), "92");
  EXPECT_EQ(run.of("kernel.log")[0].extras.at("message"),
            "rcu: \\x09RCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=2.");
}

TEST(KernelEvents, LogIsRateLimitedAndEveryRecordIsEmittedOrCounted) {
  ck::KernelEventsConfig c;
  c.log_burst = 2;
  c.log_window_ns = 1000;
  Feed run(c);
  for (uint64_t i = 0; i < 7; ++i) {
    run.feed_one("3," + std::to_string(i) + ",0,-;error " + std::to_string(i) + "\n", 10 + i);
  }
  ASSERT_EQ(run.seen.size(), 2u);
  ASSERT_EQ(run.events.report_due(), 1010u);
  run.events.report_suppressed(1010);
  ASSERT_EQ(run.seen.size(), 3u);
  // The latest held back, standing for the 4 others.
  EXPECT_EQ(run.seen[2].extras.at("message"), "error 6");
  EXPECT_EQ(run.seen[2].extras.at("suppressed"), "4");
  EXPECT_FALSE(run.events.report_due());
  // One more in the same window fits; the next is held until a later record or report.
  run.feed_one("3,7,0,-;error 7\n", 1011);
  run.feed_one("3,8,0,-;error 8\n", 1012);
  ASSERT_EQ(run.seen.size(), 4u);
  run.feed_one("3,9,0,-;error 9\n", 2100);  // a new window: carries the one held
  ASSERT_EQ(run.seen.size(), 5u);
  EXPECT_EQ(run.seen[4].extras.at("message"), "error 9");
  EXPECT_EQ(run.seen[4].extras.at("suppressed"), "1");
  EXPECT_FALSE(run.events.report_due());
  uint64_t total = 0;
  for (const auto& s : run.seen) total += 1 + std::stoull(s.extras.at("suppressed"));
  EXPECT_EQ(total, 10u);
}

TEST(KernelEvents, HostileTextIsBounded) {
  ck::KernelEventsConfig c;
  Feed run(c);
  std::string huge = "3,1,0,-;";
  for (int i = 0; i < 2000; ++i) huge += "\\xff";
  run.feed_one(huge + "\n");
  ASSERT_EQ(run.seen.size(), 1u);
  const std::string& m = run.seen[0].extras.at("message");
  EXPECT_EQ(m.size(), ck::kMaxMessageBytes);
  EXPECT_EQ(m.substr(m.size() - 4), "\\xff");
}
