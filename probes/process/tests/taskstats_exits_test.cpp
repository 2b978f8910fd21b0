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
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = cp::testing::run_true();
  ASSERT_EQ(t::wait_pid(pid), 0);  // reaped: /proc no longer knows it
  // The record is queued before the process can be reaped, so it is there to be read now.
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), "true");
  exits.clear();
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), std::nullopt);
}

TEST(ProcessTaskstats, NamesARenamedProcessByItsLastName) {
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = t::spawn_named("ct-ts-named");
  ASSERT_EQ(t::wait_pid(pid), 0);
  EXPECT_EQ(exits.name_at_exit(static_cast<uint32_t>(pid)), "ct-ts-named");
}

TEST(ProcessTaskstats, RecordsReadEarlierAreStillFound) {
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

TEST(ProcessTaskstats, DecodeIgnoresWhatIsNotAnExitRecord) {
  EXPECT_FALSE(cp::decode_task_exit("", 0));
  const char junk[64] = {};
  EXPECT_FALSE(cp::decode_task_exit(junk, sizeof junk));
}
