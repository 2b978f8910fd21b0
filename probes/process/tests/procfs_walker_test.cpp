#include "procfs_walker.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <system_error>

#include "fake_proc.hpp"
#include "recorder.hpp"

namespace cp = cellos::telemetry::process;
using cp::Change;
using cp::testing::FakeProc;
using cp::testing::Recorder;
using cp::testing::Reported;
using V = std::vector<Reported>;

namespace {

class ProcessWalker : public ::testing::Test {
 protected:
  cp::ProcfsWalker::Result sweep(bool report = true) { return walker.sweep(out, report); }

  FakeProc proc;
  cp::ProcessTable table{1024};
  cp::ProcfsWalker walker{proc.root(), table};
  Recorder out;
};

}  // namespace

TEST_F(ProcessWalker, FirstSweepIsSilentThenNewPidsAreSpawned) {
  proc.add(1, "init", 10);
  proc.add(200, "sshd", 20);
  EXPECT_EQ(sweep(false).listed, 2u);
  EXPECT_EQ(out.take(), V{});
  proc.add(300, "bash", 30);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 300, "bash"}}));
}

TEST_F(ProcessWalker, EmitInitialReportsWhatIsAlreadyRunning) {
  proc.add(1, "init", 10);
  sweep(true);
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 1, "init"}}));
}

TEST_F(ProcessWalker, GonePidIsExitedWithTheNameFromItsFirstSighting) {
  proc.add(300, "bash", 30);
  sweep(false);
  // A rename after the first sighting is not seen: known pids are never read again.
  proc.write("300/comm", "renamed\n");
  proc.remove(300);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kExited, 300, "bash"}}));
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ProcessWalker, KnownPidWithTheSameInodeCostsNoRead) {
  proc.add(300, "bash", 30);
  sweep(false);
  // Rewriting the files in place keeps the directory's inode, so the walker must not notice:
  // had it read them, the new start time would have looked like a reused pid.
  proc.write("300/stat", FakeProc::stat_line(300, "other", 99));
  const auto r = sweep();
  EXPECT_EQ(r.listed, 1u);
  EXPECT_EQ(r.stat_reads, 0u);
  EXPECT_EQ(out.take(), V{});
}

TEST_F(ProcessWalker, ReusedPidIsAnExitAndASpawn) {
  proc.add(300, "bash", 30);
  sweep(false);
  proc.recreate(300, "curl", 31);
  const auto r = sweep();
  EXPECT_EQ(r.stat_reads, 1u);
  EXPECT_EQ(out.take(), (V{{Change::kExited, 300, "bash"}, {Change::kSpawned, 300, "curl"}}));
  proc.remove(300);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kExited, 300, "curl"}}));
}

TEST_F(ProcessWalker, RecreatedDirectoryWithTheSameStartTimeIsTheSameProcess) {
  proc.add(300, "bash", 30);
  sweep(false);
  proc.recreate(300, "bash", 30);  // the kernel evicted and re-instantiated /proc/300
  EXPECT_EQ(sweep().stat_reads, 1u);
  EXPECT_EQ(out.take(), V{});
  EXPECT_EQ(sweep().stat_reads, 0u);  // the new inode is remembered
}

TEST_F(ProcessWalker, CommWithParenthesesAndSpacesComesWhole) {
  sweep(false);
  proc.add(400, "a) b (c", 40);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 400, "a) b (c"}}));
}

TEST_F(ProcessWalker, VanishingFilesAreNormal) {
  sweep(false);
  // Listed, but gone before its stat could be read: nothing to report, nothing remembered.
  proc.mkdir("500");
  auto r = sweep();
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.listed, 1u);
  EXPECT_EQ(out.take(), V{});
  EXPECT_EQ(table.size(), 0u);
  // Caught at a later sweep once readable.
  proc.add(500, "late", 50);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 500, "late"}}));
  // A known pid whose new directory vanishes before it is read is an exit.
  proc.recreate(500, "late", 50);
  proc.unlink("500/stat");
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kExited, 500, "late"}}));
}

TEST_F(ProcessWalker, ThreadsAndOtherEntriesAreNotProcesses) {
  proc.add(10, "multi", 1);
  proc.mkdir("10/task/10");
  proc.mkdir("10/task/11");  // a thread: reachable as /proc/11 on a real system, never listed
  proc.mkdir("sys");
  proc.mkdir("0123");
  proc.mkdir("12x");
  proc.mkdir("99999999999");  // beyond 32 bits
  proc.write("34", "a file, not a pid directory");
  symlink("10", (proc.root() + "/self").c_str());
  const auto r = sweep(true);
  EXPECT_EQ(r.listed, 1u);
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 10, "multi"}}));
}

TEST_F(ProcessWalker, ManyPidsSpanSeveralListingBuffers) {
  // 32 KiB of getdents64 records holds about 1,300 entries; 3,000 need several calls.
  for (uint32_t pid = 1000; pid < 4000; ++pid) proc.mkdir(std::to_string(pid));
  EXPECT_EQ(sweep(false).listed, 3000u);
}

TEST(ProcessWalkerLimits, FullTableRemembersWhatFitsAndCountsTheRest) {
  FakeProc proc;
  cp::ProcessTable table(2);
  cp::ProcfsWalker walker(proc.root(), table);
  Recorder out;
  proc.add(1, "a", 1);
  proc.add(2, "b", 2);
  proc.add(3, "c", 3);
  walker.sweep(out, true);
  EXPECT_EQ(out.take().size(), 2u);
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.untracked(), 1u);
}

TEST(ProcessWalkerLimits, MissingRootIsAnErrorNamingIt) {
  cp::ProcessTable table(16);
  try {
    cp::ProcfsWalker walker("/nonexistent/proc", table);
    FAIL() << "no exception";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/proc"), std::string::npos) << e.what();
  }
}

TEST(ProcessWalkerRealProc, FindsItselfAndSteadyStateReadsOnlyNewPids) {
  cp::ProcessTable table(65536);
  cp::ProcfsWalker walker("/proc", table);
  Recorder out;
  const auto first = walker.sweep(out, true);
  EXPECT_EQ(first.error, 0);
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  const Reported self{Change::kSpawned, static_cast<uint32_t>(getpid()), comm};
  EXPECT_NE(std::find(out.events.begin(), out.events.end(), self), out.events.end());
  // Every stat read in a later sweep is for a pid that is new (or vanished right after being
  // listed); the known ones, including this process, cost nothing.
  const auto second = walker.sweep(out, true);
  EXPECT_LE(second.stat_reads, second.spawned + 3) << second.listed << " listed";
  EXPECT_LT(second.stat_reads, first.stat_reads);
}

// A zombie has exited: its exit event was sent (and handled, if the probe saw it) before /proc
// stopped listing it, which its parent's wait does. A sweep that took an unknown zombie for a new
// process would report it spawned, and nothing would ever report it gone (seen as
// ProcessResyncE2E.LostCountIsExact... finding a pid "reported but gone" after a resync). A
// zombie it knows is kept until it is no longer listed.
TEST_F(ProcessWalker, AnUnknownZombieIsNotReportedAKnownOneIsKept) {
  walker.set_exit_events(true);
  proc.add(1, "init", 10);
  proc.add(200, "known", 20);
  sweep(false);
  const auto make_zombie = [&](uint32_t pid) {
    const std::string path = std::to_string(pid) + "/stat";
    std::ifstream in(proc.root() + "/" + path);
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    stat.replace(stat.rfind(") S "), 4, ") Z ");
    proc.write(path, stat);
  };
  proc.add(300, "defunct", 30);
  make_zombie(300);
  make_zombie(200);
  sweep();
  EXPECT_EQ(out.take(), V{});
  EXPECT_EQ(table.find(300), nullptr);
  EXPECT_NE(table.find(200), nullptr);
  proc.remove(200);
  proc.remove(300);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kExited, 200, "known"}}));
  // A pid the table knows, now held by another process that is a zombie already: the one known
  // is gone (once), the zombie is not reported.
  proc.add(400, "older", 40);
  sweep();
  out.take();
  proc.recreate(400, "defunct", 41);
  make_zombie(400);
  sweep();
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kExited, 400, "older"}}));
  EXPECT_EQ(table.find(400), nullptr);
}

// Polling alone has no exit events: a short-lived process caught as a zombie is reported, and
// its exit at the next sweep that no longer lists it.
TEST_F(ProcessWalker, PollingAloneReportsAZombie) {
  sweep(false);
  proc.add(300, "defunct", 30);
  std::ifstream in(proc.root() + "/300/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  stat.replace(stat.rfind(") S "), 4, ") Z ");
  proc.write("300/stat", stat);
  sweep();
  proc.remove(300);
  sweep();
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 300, "defunct"}, {Change::kExited, 300, "defunct"}}));
}
