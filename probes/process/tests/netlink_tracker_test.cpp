#include "netlink_tracker.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "fake_proc.hpp"
#include "procfs_walker.hpp"
#include "recorder.hpp"

namespace cp = cellos::telemetry::process;
using cp::Change;
using cp::ProcEvent;
using cp::testing::FakeProc;
using cp::testing::Recorder;
using cp::testing::Reported;
using V = std::vector<Reported>;

namespace {

ProcEvent fork_event(uint32_t parent, uint32_t pid, uint32_t tgid) {
  ProcEvent e;
  e.kind = ProcEvent::Kind::kFork;
  e.parent_tgid = parent;
  e.pid = pid;
  e.tgid = tgid;
  return e;
}

ProcEvent event(ProcEvent::Kind kind, uint32_t pid, uint32_t tgid) {
  ProcEvent e;
  e.kind = kind;
  e.pid = pid;
  e.tgid = tgid;
  return e;
}

ProcEvent comm_event(uint32_t pid, uint32_t tgid, const char* comm) {
  ProcEvent e = event(ProcEvent::Kind::kComm, pid, tgid);
  std::strncpy(e.comm, comm, sizeof e.comm);
  return e;
}

class ProcessTracker : public ::testing::Test {
 protected:
  void SetUp() override {
    proc.add(1, "init", 1);
    proc.add(100, "bash", 10);
    walker.sweep(out, false);
  }
  void handle(const ProcEvent& e) { tracker.handle(e); }

  FakeProc proc;
  cp::ProcessTable table{1024};
  cp::ProcfsWalker walker{proc.root(), table};
  Recorder out;
  cp::NetlinkTracker tracker{walker.root_fd(), table, out};
};

}  // namespace

TEST_F(ProcessTracker, ForkExecExitOfAShortLivedProcess) {
  proc.add(200, "bash", 20);  // a fork carries its parent's name until exec
  handle(fork_event(100, 200, 200));
  proc.write("200/comm", "true\n");
  handle(event(ProcEvent::Kind::kExec, 200, 200));
  proc.remove(200);
  handle(event(ProcEvent::Kind::kExit, 200, 200));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 200, "bash"},
                           {Change::kExec, 200, "true"},
                           {Change::kExited, 200, "true"}}));
  EXPECT_EQ(table.find(200), nullptr);  // cleaned on exit
}

TEST_F(ProcessTracker, ThreadsAreNotProcesses) {
  handle(fork_event(100, 101, 100));  // a new thread in bash's group
  handle(comm_event(101, 100, "worker"));
  handle(event(ProcEvent::Kind::kExit, 101, 100));
  EXPECT_EQ(out.take(), V{});
  EXPECT_EQ(table.find(100)->comm, "bash");
}

TEST_F(ProcessTracker, RenameIsRememberedForTheExit) {
  handle(comm_event(100, 100, "renamed-shell"));
  EXPECT_EQ(out.take(), V{});  // no event kind for a rename; the name shows at exit
  proc.remove(100);
  handle(event(ProcEvent::Kind::kExit, 100, 100));
  EXPECT_EQ(out.take(), (V{{Change::kExited, 100, "renamed-shell"}}));
}

TEST_F(ProcessTracker, ChildGoneBeforeItsForkIsReadTakesItsParentsName) {
  handle(fork_event(100, 300, 300));
  handle(event(ProcEvent::Kind::kExec, 300, 300));
  handle(event(ProcEvent::Kind::kExit, 300, 300));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 300, "bash"},
                           {Change::kExec, 300, "bash"},
                           {Change::kExited, 300, "bash"}}));
}

TEST_F(ProcessTracker, ProcessAlreadyListedBySilentSweepIsSpawnedOnce) {
  // Born between subscribing and the first listing: in the listing and in the queue.
  proc.add(400, "new", 40);
  walker.sweep(out, false);
  handle(fork_event(100, 400, 400));
  handle(fork_event(100, 400, 400));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 400, "new"}}));
}

TEST_F(ProcessTracker, ProcessAlreadyReportedByAResyncIsNotReportedAgain) {
  proc.add(400, "new", 40);
  walker.sweep(out, true);
  handle(fork_event(100, 400, 400));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 400, "new"}}));
  // ...and its queued exit, after a resync already closed it, is not a second exit.
  proc.remove(400);
  walker.sweep(out, true);
  handle(event(ProcEvent::Kind::kExit, 400, 400));
  EXPECT_EQ(out.take(), (V{{Change::kExited, 400, "new"}}));
}

TEST_F(ProcessTracker, ForkOverAStaleEntryClosesItFirst) {
  // pid 100's exit was lost; the kernel handed the pid to a new process.
  proc.recreate(100, "curl", 99);
  handle(fork_event(1, 100, 100));
  EXPECT_EQ(out.take(), (V{{Change::kExited, 100, "bash"}, {Change::kSpawned, 100, "curl"}}));
}

TEST(ProcessTrackerLimits, FullTableStillReportsAndTheExitShowsTheZombiesName) {
  FakeProc proc;
  cp::ProcessTable table(1);
  cp::ProcfsWalker walker(proc.root(), table);
  Recorder out;
  cp::NetlinkTracker tracker(walker.root_fd(), table, out);
  proc.add(1, "init", 1);
  walker.sweep(out, false);
  proc.add(50, "extra", 5);
  tracker.handle(fork_event(1, 50, 50));
  EXPECT_EQ(table.untracked(), 1u);
  tracker.handle(event(ProcEvent::Kind::kExit, 50, 50));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 50, "extra"}, {Change::kExited, 50, "extra"}}));
}

TEST(ProcessTrackerLimits, ExitOfAnUnknownPidIsIgnoredWhileNothingWasUntracked) {
  FakeProc proc;
  cp::ProcessTable table(16);
  cp::ProcfsWalker walker(proc.root(), table);
  Recorder out;
  cp::NetlinkTracker tracker(walker.root_fd(), table, out);
  tracker.handle(event(ProcEvent::Kind::kExit, 77, 77));
  EXPECT_EQ(out.take(), V{});
}

namespace {

// The kernel's exit records, as far as the test has "sent" them.
class FakeExitNames : public cp::ExitNames {
 public:
  std::optional<std::string> name_at_exit(uint32_t pid) override {
    ++asked;
    const auto it = names.find(pid);
    return it == names.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  std::map<uint32_t, std::string> names;
  int asked = 0;
};

class ProcessTrackerWithExitNames : public ::testing::Test {
 protected:
  void SetUp() override {
    proc.add(100, "bash", 10);
    walker.sweep(out, false);
  }
  FakeProc proc;
  cp::ProcessTable table{1024};
  cp::ProcfsWalker walker{proc.root(), table};
  Recorder out;
  FakeExitNames names;
  cp::NetlinkTracker tracker{walker.root_fd(), table, out, &names};
};

}  // namespace

TEST_F(ProcessTrackerWithExitNames, ExecHandledAfterTheProcessWasReapedTakesTheNameAtExit) {
  proc.add(200, "bash", 20);
  tracker.handle(fork_event(100, 200, 200));
  // /bin/true ran and was reaped before its exec event was handled: /proc has nothing left.
  proc.remove(200);
  names.names[200] = "true";
  tracker.handle(event(ProcEvent::Kind::kExec, 200, 200));
  tracker.handle(event(ProcEvent::Kind::kExit, 200, 200));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 200, "bash"},
                           {Change::kExec, 200, "true"},
                           {Change::kExited, 200, "true"}}));
  EXPECT_EQ(names.asked, 1);  // only for the exec /proc could not name
}

TEST_F(ProcessTrackerWithExitNames, ExecReadInTimeNeverAsks) {
  proc.add(200, "bash", 20);
  tracker.handle(fork_event(100, 200, 200));
  proc.write("200/comm", "true\n");
  tracker.handle(event(ProcEvent::Kind::kExec, 200, 200));
  tracker.handle(event(ProcEvent::Kind::kExit, 200, 200));
  EXPECT_EQ(out.take().back(), (Reported{Change::kExited, 200, "true"}));
  EXPECT_EQ(names.asked, 0);
}

TEST_F(ProcessTrackerWithExitNames, WithoutARecordTheExecKeepsTheNameBeforeExec) {
  proc.add(200, "bash", 20);
  tracker.handle(fork_event(100, 200, 200));
  proc.remove(200);
  tracker.handle(event(ProcEvent::Kind::kExec, 200, 200));
  EXPECT_EQ(out.take(), (V{{Change::kSpawned, 200, "bash"}, {Change::kExec, 200, "bash"}}));
}
