// Taskstats exit records from the real kernel (root, CONFIG_TASKSTATS).
#include "taskstats_exits.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "e2e_support.hpp"

namespace cp = cellos::telemetry::process;
namespace t = cellos::telemetry::testing;

TEST(ProcessTaskstats, RecordsTheNameAProcessExitedUnder) {
  CT_SKIP_UNLESS_ROOT("registering for taskstats exit records");
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = cp::testing::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);  // reaped: /proc no longer knows it
  // The record is queued before the process can be reaped, so it is there to be read now.
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), "true");
  exits.clear();
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), std::nullopt);
}

TEST(ProcessTaskstats, NamesARenamedProcessByItsLastName) {
  CT_SKIP_UNLESS_ROOT("registering for taskstats exit records");
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = t::spawn_named("ct-ts-named");
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), "ct-ts-named");
}

TEST(ProcessTaskstats, RecordsReadEarlierAreStillFound) {
  CT_SKIP_UNLESS_ROOT("registering for taskstats exit records");
  cp::TaskstatsExits exits(1 << 20);
  // A periodic refresh reads a's record long before anyone asks about a.
  const pid_t a = t::spawn_named("ct-ts-first");
  ASSERT_EQ(t::wait_pid(a), 0);
  exits.refresh();
  const pid_t b = t::spawn_named("ct-ts-second");
  ASSERT_EQ(t::wait_pid(b), 0);
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(b)), "ct-ts-second");
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(a)), "ct-ts-first");
}

TEST(ProcessTaskstats, NamesAMultiThreadedProcessByTheRecordOfItsLastThread) {
  CT_SKIP_UNLESS_ROOT("registering for taskstats exit records");
  cp::TaskstatsExits exits(1 << 20);
  // Its leader exits last, so the leader's record is the one carrying the whole group's
  // statistics too: the largest datagram the kernel sends.
  const pid_t pid = fork();
  if (pid == 0) {
    execl(CT_THREADS_HELPER, "ct-threads", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), "ct-threads");
  EXPECT_EQ(exits.truncated(), 0u);
}

TEST(ProcessTaskstats, SlotHoldsTheLargestRecordWithRoomForNewerKernels) {
  // The layout these headers know, and the 1,172 bytes Linux 6.18 sends (a struct taskstats
  // of 560 bytes).
  EXPECT_GE(cp::TaskstatsExits::kSlotBytes, cp::taskstats_record_bytes(sizeof(taskstats)));
  EXPECT_EQ(cp::taskstats_record_bytes(560), 1172u);
  EXPECT_GE(cp::TaskstatsExits::kSlotBytes, 1172u);
}

TEST(ProcessTaskstats, ExitPendingUntilTheExitIsHandled) {
  CT_SKIP_UNLESS_ROOT("registering for taskstats exit records");
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = t::spawn_named("ct-ts-pending");
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_TRUE(exits.exit_pending(static_cast<uint32_t>(pid)));
  exits.exit_handled(static_cast<uint32_t>(pid));
  EXPECT_FALSE(exits.exit_pending(static_cast<uint32_t>(pid)));
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), std::nullopt);
}

TEST(ProcessTaskstats, DecodeIgnoresWhatIsNotAnExitRecord) {
  EXPECT_FALSE(cp::decode_task_exit("", 0));
  const char junk[64] = {};
  EXPECT_FALSE(cp::decode_task_exit(junk, sizeof junk));
}
