// The process ledger end to end: the real agent, the real kernel, real processes. Who started
// each process, what it ran, how it ended and what it cost (README: every key).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ledger_support.hpp"
#include "process_id.hpp"

namespace cp = cellos::telemetry::process;
namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;

namespace {

constexpr const char* kNetlink = "method = \"netlink\"\nemit_initial = false";

// The first event of this kind about pid, waited for (generously).
std::optional<t::Captured> await_event(const pt::Agent& agent, const std::string& source,
                                       pid_t pid) {
  if (!agent.await(source, pid)) return std::nullopt;
  return agent.find(source, pid);
}

// A child that ends however `body` makes it end, reaped; the agent's process.exited about it.
template <class Body>
std::optional<t::Captured> exit_of(const pt::Agent& agent, Body body) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return await_event(agent, "process.exited", pid);
}

// Ends a lingering child and reaps it.
void stop(pid_t pid) {
  kill(pid, SIGKILL);
  t::wait_pid(pid);
}

// A lingering child that is ended however the test leaves its scope (a failed ASSERT too).
class Lingering {
 public:
  explicit Lingering(pid_t pid) : pid_(pid) {}
  ~Lingering() { end(); }
  Lingering(const Lingering&) = delete;
  Lingering& operator=(const Lingering&) = delete;
  pid_t pid() const { return pid_; }
  void end() {
    if (pid_ > 0) stop(pid_);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

TEST(ProcessLedgerE2E, ShellTreeGivesAMatchingParentChain) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  // sh runs sh runs sleep; the trailing commands keep each shell from exec'ing its last one.
  const pid_t outer = pt::spawn_exec({"/bin/sh", "-c", "/bin/sh -c '/bin/sleep 0.05; :'; :"});
  ASSERT_EQ(t::wait_pid(outer), 0);
  ASSERT_TRUE(agent.await("process.exited", outer)) << agent.err();

  // Walk down from the outer shell by ppid; each link's parent_id is its parent's process_id.
  std::vector<std::string> names;
  uint32_t parent = static_cast<uint32_t>(outer);
  const auto outer_spawn = agent.find("process.spawned", outer);
  ASSERT_TRUE(outer_spawn);
  uint64_t parent_id = pt::u(*outer_spawn, "process_id").value_or(0);
  ASSERT_NE(parent_id, 0u);
  for (int depth = 0; depth < 2; ++depth) {
    std::optional<t::Captured> child;
    ASSERT_TRUE(t::eventually([&] {
      for (const auto& e : agent.events()) {
        if (e.probe_source == "process.spawned" && pt::u(e, "ppid") == parent) child = e;
      }
      return child.has_value();
    })) << "no child of "
        << parent;
    EXPECT_EQ(pt::u(*child, "parent_id"), parent_id);
    const uint64_t id = pt::u(*child, "process_id").value_or(0);
    ASSERT_TRUE(agent.await("process.exited", static_cast<pid_t>(child->guest_pid)));
    // The same process_id in every event about it.
    for (const auto& e : pt::events_about(agent, static_cast<pid_t>(child->guest_pid))) {
      EXPECT_EQ(pt::u(e, "process_id"), id) << e.probe_source;
    }
    const auto exec = agent.find("process.exec", static_cast<pid_t>(child->guest_pid));
    ASSERT_TRUE(exec);
    names.push_back(exec->guest_comm);
    parent = child->guest_pid;
    parent_id = id;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"sh", "sleep"}));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, ArgvKeepsSpacesQuotesEmptyArgumentsAndRepairsInvalidUtf8) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  Lingering child(pt::spawn_exec(
      {CT_LINGER_HELPER, "a b", "say \"hi\"", "", "it's", "\xff\xfe", "caf\xc3\xa9", ""}));
  const auto exec = await_event(agent, "process.exec", child.pid());
  child.end();
  ASSERT_TRUE(exec) << agent.err();
  EXPECT_FALSE(pt::b(*exec, "raced"));
  EXPECT_EQ(pt::list(*exec, "argv"),
            (std::vector<std::string>{CT_LINGER_HELPER, "a b", "say \"hi\"", "", "it's",
                                      "\xef\xbf\xbd\xef\xbf\xbd", "caf\xc3\xa9", ""}));
  EXPECT_FALSE(pt::b(*exec, "argv_truncated"));
  EXPECT_EQ(pt::text(*exec, "exe"), std::string(CT_LINGER_HELPER));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, TenKiBOfArgumentsAreCutFlaggedAndFitTheFrame) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  std::vector<std::string> argv = {CT_LINGER_HELPER};
  for (int i = 0; i < 100; ++i) argv.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  Lingering child(pt::spawn_exec(argv));
  const auto exec = await_event(agent, "process.exec", child.pid());
  child.end();
  ASSERT_TRUE(exec) << agent.err();
  EXPECT_FALSE(pt::b(*exec, "raced"));
  EXPECT_EQ(pt::b(*exec, "argv_truncated"), true);
  const auto got = pt::list(*exec, "argv");
  ASSERT_TRUE(got);
  size_t bytes = 0;
  for (size_t i = 0; i < got->size(); ++i) {
    bytes += (*got)[i].size() + 1;
    // Every argument but the cut last one is whole.
    if (i + 1 < got->size()) {
      EXPECT_EQ((*got)[i], argv[i]);
    }
  }
  EXPECT_LE(bytes, 1024u);
  EXPECT_GT(bytes, 1000u);  // cut at the bound, not long before it
  // The frame the wire encoder makes of it holds everything, uncut, within 4096 bytes of body.
  const auto frame = pt::frame_size(*exec);
  EXPECT_GT(frame.bytes, 1024u);
  EXPECT_LE(frame.bytes, 4u + 4096u);
  EXPECT_FALSE(frame.truncated);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, ExitThreeGivesExitCodeThree) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const auto e = exit_of(agent, [] { _exit(3); });
  ASSERT_TRUE(e) << agent.err();
  EXPECT_EQ(pt::u(*e, "exit_code"), 3u);
  EXPECT_FALSE(pt::u(*e, "signal"));
  EXPECT_FALSE(pt::b(*e, "core_dumped"));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, KillNineGivesSignalNine) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const auto e = exit_of(agent, [] {
    kill(getpid(), SIGKILL);
    pause();
  });
  ASSERT_TRUE(e) << agent.err();
  EXPECT_EQ(pt::u(*e, "signal"), 9u);
  EXPECT_EQ(pt::b(*e, "core_dumped"), false);
  EXPECT_FALSE(pt::u(*e, "exit_code"));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, SegvWithCoreDumpsOffGivesSignalElevenWithoutCore) {
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const auto e = exit_of(agent, [] {
    const rlimit none{0, 0};
    setrlimit(RLIMIT_CORE, &none);
    signal(SIGSEGV, SIG_DFL);  // the default action: under ASan its own handler would exit(1)
    kill(getpid(), SIGSEGV);
    pause();
  });
  ASSERT_TRUE(e) << agent.err();
  EXPECT_EQ(pt::u(*e, "signal"), 11u);
  EXPECT_EQ(pt::b(*e, "core_dumped"), false);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, ProcessTouching64MiBHasItsPeakRss) {
  CT_SKIP_UNLESS_ROOT("accounting comes from taskstats");
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  constexpr size_t kBytes = 64u << 20;
  const auto e = exit_of(agent, [] {
    void* p = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(1);
    std::memset(p, 1, kBytes);  // every page resident
  });
  ASSERT_TRUE(e) << agent.err();
  EXPECT_EQ(pt::u(*e, "exit_code"), 0u);
  EXPECT_GE(pt::u(*e, "max_rss_kib").value_or(0), 65536u);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, CpuSpinnerHasItsUserTime) {
  CT_SKIP_UNLESS_ROOT("accounting comes from taskstats");
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const auto e = exit_of(agent, [] {
    // 200 ms of the process's own CPU time, however long the wall clock takes to give it.
    volatile uint64_t sink = 0;
    const uint64_t start = thread_cpu_ns();
    while (thread_cpu_ns() - start < 200000000ull) {
      for (int i = 0; i < 100000; ++i) sink = sink + static_cast<uint64_t>(i);
    }
  });
  ASSERT_TRUE(e) << agent.err();
  EXPECT_GE(pt::u(*e, "cpu_user_us").value_or(0), 150000u);
  EXPECT_TRUE(pt::u(*e, "cpu_system_us"));
  EXPECT_GE(pt::u(*e, "duration_ns").value_or(0), 200000000u);
  EXPECT_EQ(agent.stop(), 0);
}

namespace {

// The process.exec of a child that runs `change` (false: it failed) and then execs `path`.
template <class Change>
std::optional<t::Captured> exec_after(const pt::Agent& agent, const std::string& path,
                                      Change change) {
  Lingering child(fork());
  if (child.pid() == 0) {
    if (!change()) _exit(126);
    execl(path.c_str(), "ct-linger", static_cast<char*>(nullptr));
    _exit(127);
  }
  return await_event(agent, "process.exec", child.pid());
}

void expect_ids(const t::Captured& exec, uint64_t uid, uint64_t euid, uint64_t gid, uint64_t egid) {
  EXPECT_EQ(pt::u(exec, "uid"), uid);
  EXPECT_EQ(pt::u(exec, "euid"), euid);
  EXPECT_EQ(pt::u(exec, "gid"), gid);
  EXPECT_EQ(pt::u(exec, "egid"), egid);
}

}  // namespace

TEST(ProcessLedgerE2E, SetuidChangeShowsInTheIds) {
  CT_SKIP_UNLESS_ROOT("changing ids");
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  // Real ids to nobody, effective ones kept: what a setuid-root program runs as.
  const auto exec = exec_after(agent, CT_LINGER_HELPER, [] {
    return setresgid(65534, 0, 0) == 0 && setresuid(65534, 0, 0) == 0;
  });
  ASSERT_TRUE(exec) << agent.err();
  expect_ids(*exec, 65534, 0, 65534, 0);
  EXPECT_EQ(agent.stop(), 0);
}

// An exec of a set-user-ID and set-group-ID file: the kernel changes the effective ids in the
// exec itself, and tells with a uid and a gid event before the exec event; the probe's ids come
// from those events, not from a read of status.
TEST(ProcessLedgerE2E, ExecOfASetIdFileShowsTheEffectiveIdsItGave) {
  CT_SKIP_UNLESS_ROOT("a set-user-ID file owned by root");
  t::TempDir dir;
  const std::string helper = dir.file("ct-linger-setid");
  std::filesystem::copy_file(CT_LINGER_HELPER, helper);
  ASSERT_EQ(chown(helper.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(helper.c_str(), 06755), 0);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  const auto exec = exec_after(agent, helper, [] {
    return setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0;
  });
  ASSERT_TRUE(exec) << agent.err();
  expect_ids(*exec, 65534, 0, 65534, 0);
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, OneMillisecondTrueStillGetsExitStatusAndAccounting) {
  CT_SKIP_UNLESS_ROOT("accounting comes from taskstats");
  pt::Agent agent(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  std::vector<pid_t> pids;
  for (int i = 0; i < 50; ++i) {
    pids.push_back(pt::run_true());
    ASSERT_EQ(t::wait_pid(pids.back()), 0);
  }
  for (const pid_t pid : pids) {
    const auto e = await_event(agent, "process.exited", pid);
    ASSERT_TRUE(e) << pid << agent.err();
    EXPECT_EQ(e->guest_comm, "true");
    EXPECT_EQ(pt::u(*e, "exit_code"), 0u);
    EXPECT_TRUE(pt::u(*e, "cpu_user_us"));
    EXPECT_TRUE(pt::u(*e, "read_bytes"));
    EXPECT_TRUE(pt::u(*e, "write_bytes"));
    EXPECT_GT(pt::u(*e, "max_rss_kib").value_or(0), 0u);
    EXPECT_TRUE(pt::u(*e, "duration_ns"));
    const auto spawned = agent.find("process.spawned", pid);
    ASSERT_TRUE(spawned);
    EXPECT_EQ(pt::u(*spawned, "process_id"), pt::u(*e, "process_id"));
  }
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, MinimalContextReadsNothingBeyondTheName) {
  pt::Agent agent("method = \"netlink\"\nemit_initial = false\ncontext = \"minimal\"");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();
  Lingering child(pt::spawn_exec({CT_LINGER_HELPER, "x"}));
  const auto exec = await_event(agent, "process.exec", child.pid());
  child.end();
  ASSERT_TRUE(exec) << agent.err();
  EXPECT_EQ(exec->guest_comm, "ct-linger");
  EXPECT_TRUE(pt::u(*exec, "process_id"));
  for (const char* key : {"exe", "argv", "cwd", "uid", "euid", "gid", "egid", "raced"}) {
    EXPECT_EQ(exec->typed_extras.count(key), 0u) << key;
  }
  EXPECT_EQ(agent.stop(), 0);
}

TEST(ProcessLedgerE2E, InitialSnapshotOfARunningTreeMatchesProcAndARestartedAgent) {
  t::TempDir dir;
  const std::string go = dir.file("go");
  // A first agent sees the tree born; a second, started later, lists it: both must give each
  // process the same process_id, and the listing must say what /proc says.
  pt::Agent first(kNetlink);
  ASSERT_TRUE(pt::wait_until_observing(first, false)) << first.err();
  const pid_t shell = pt::spawn_exec({"/bin/sh", "-c",
                                      "/bin/sleep 60 & while [ ! -e " + go +
                                          " ]; do /bin/sleep 0.05; done; "
                                          "kill $!"});
  // However the test ends (a failed ASSERT too), the shell is told to go, ends its sleeper and
  // is reaped before the temp dir holding the go file is removed.
  struct Release {
    std::string go;
    pid_t shell;
    ~Release() {
      pt::touch(go);
      EXPECT_EQ(t::wait_pid(shell), 0);
    }
  } release{go, shell};
  uint32_t sleeper = 0;
  ASSERT_TRUE(t::eventually([&] {
    for (const auto& e : first.events()) {
      if (e.probe_source == "process.exec" && e.guest_comm == "sleep" &&
          pt::list(e, "argv") == std::vector<std::string>{"/bin/sleep", "60"}) {
        sleeper = e.guest_pid;
      }
    }
    return sleeper != 0;
  }));
  pt::Agent second("method = \"netlink\"");  // emit_initial: the default
  ASSERT_TRUE(pt::wait_until_observing(second, false)) << second.err();

  for (const pid_t pid : {shell, static_cast<pid_t>(sleeper)}) {
    const auto facts = pt::proc_facts(pid);
    ASSERT_TRUE(facts) << pid;
    const auto listed = second.find("process.spawned", pid);
    ASSERT_TRUE(listed) << pid;
    EXPECT_EQ(pt::b(*listed, "initial"), true);
    const uint64_t id = cp::make_process_id(static_cast<uint32_t>(pid), facts->start_ticks);
    EXPECT_EQ(pt::u(*listed, "process_id"), id);
    EXPECT_EQ(pt::u(*first.find("process.spawned", pid), "process_id"), id);
    EXPECT_EQ(pt::u(*listed, "ppid"), facts->ppid);
    EXPECT_EQ(pt::text(*listed, "exe"), facts->exe);
    EXPECT_EQ(pt::text(*listed, "cwd"), facts->cwd);
    EXPECT_EQ(pt::list(*listed, "argv"), facts->argv);
    EXPECT_EQ(pt::u(*listed, "uid"), facts->uid);
    EXPECT_EQ(pt::u(*listed, "euid"), facts->euid);
    EXPECT_EQ(pt::u(*listed, "gid"), facts->gid);
    EXPECT_EQ(pt::u(*listed, "egid"), facts->egid);
    EXPECT_TRUE(pt::u(*listed, "start_ns"));
  }
  // The sleeper's parent is the shell, by process_id too.
  const auto sleeper_listed = second.find("process.spawned", static_cast<pid_t>(sleeper));
  ASSERT_TRUE(sleeper_listed);
  EXPECT_EQ(pt::u(*sleeper_listed, "parent_id"),
            pt::u(*second.find("process.spawned", shell), "process_id"));
  EXPECT_EQ(second.stop(), 0);
  EXPECT_EQ(first.stop(), 0);
}
