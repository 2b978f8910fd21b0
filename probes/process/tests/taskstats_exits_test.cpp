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
  // The record is queued before the process can be reaped, so one refresh suffices.
  exits.refresh();
  const std::string* name = exits.lookup(static_cast<uint32_t>(pid));
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "true");
  exits.forget(static_cast<uint32_t>(pid));
  EXPECT_EQ(exits.lookup(static_cast<uint32_t>(pid)), nullptr);
}

TEST(ProcessTaskstats, NamesARenamedProcessByItsLastName) {
  cp::TaskstatsExits exits(1 << 20);
  const pid_t pid = t::spawn_named("ct-ts-named");
  ASSERT_EQ(t::wait_pid(pid), 0);
  exits.refresh();
  const std::string* name = exits.lookup(static_cast<uint32_t>(pid));
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "ct-ts-named");
}

TEST(ProcessTaskstats, DecodeIgnoresWhatIsNotAnExitRecord) {
  EXPECT_FALSE(cp::decode_task_exit("", 0));
  const char junk[64] = {};
  EXPECT_FALSE(cp::decode_task_exit(junk, sizeof junk));
}
