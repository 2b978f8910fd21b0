// The real agent, the real kernel: an OOM kill in a memory cgroup, a segfault, and a forged
// OOM-kill line, through the kernel probe (and the process probe, for the exit of the same pid).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

std::string hex(std::string_view s) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : s) {
    out += digits[static_cast<unsigned char>(c) >> 4];
    out += digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

bool write_text(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

std::string first_line(const std::string& path) {
  std::string line;
  std::getline(std::ifstream(path), line);
  return line;
}

// Held by each test that changes sysctls, for its whole duration: tests run in parallel, and
// one saving the value another has just set would "restore" that. A flock on the sysctl file
// itself: nothing to create, nothing to clean up.
class SysctlLock {
 public:
  SysctlLock() : fd_(::open("/proc/sys/kernel/printk_ratelimit", O_RDONLY | O_CLOEXEC)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~SysctlLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  SysctlLock(const SysctlLock&) = delete;
  SysctlLock& operator=(const SysctlLock&) = delete;

 private:
  int fd_;
};

// A sysctl set for the test's duration and restored after, whatever the test's outcome.
class Sysctl {
 public:
  Sysctl(std::string path, const std::string& value)
      : path_(std::move(path)), saved_(first_line(path_)) {
    set_ = !saved_.empty() && write_text(path_, value);
  }
  ~Sysctl() {
    if (set_) write_text(path_, saved_);
  }
  bool set() const { return set_; }

 private:
  std::string path_, saved_;
  bool set_ = false;
};

// The agent with the kernel probe, the process probe and the capturing sink.
class Agent {
 public:
  explicit Agent(const std::string& kernel_options) : capture_(dir_.file("events")) {
    const std::string config = dir_.write(
        "agent.toml", "[agent]\nheartbeat_interval_ms = 0\n[[probes.kernel]]\n" + kernel_options +
                          "\n[[probes.process]]\nmethod = \"netlink\"\n[[sinks.capture]]\npath = "
                          "\"" +
                          capture_ + "\"\n");
    child_ = std::make_unique<t::ChildProcess>(
        t::agent_argv(config, {"--plugin-dir", t::fixture_dir()}), dir_);
  }
  ~Agent() {
    if (child_->running()) stop();
  }
  int stop() {
    child_->signal(SIGTERM);
    return child_->wait(30s).value_or(-1);
  }
  std::string err() const { return child_->err(); }
  pid_t pid() const { return child_->pid(); }
  std::optional<t::Captured> find(const std::string& source, pid_t pid) const {
    for (auto& e : t::read_captured(capture_)) {
      if (e.probe_source == source && e.guest_pid == static_cast<uint32_t>(pid)) return e;
    }
    return std::nullopt;
  }
  bool await(const std::string& source, pid_t pid) const {
    return t::eventually([&] { return find(source, pid).has_value(); }, 60s);
  }
  std::vector<t::Captured> events() const { return t::read_captured(capture_); }
  // Every probe starts before the loop runs, so once the process probe has reported something,
  // the kernel probe is reading /dev/kmsg. A process that ends before the agent subscribed is
  // never reported, hence a fresh one each round.
  bool observing() const {
    const auto end = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < end && child_->running()) {
      const pid_t pid = fork();
      if (pid == 0) _exit(0);
      t::wait_pid(pid);
      if (t::eventually([&] { return find("process.exited", pid).has_value(); }, 200ms)) {
        return true;
      }
    }
    return false;
  }

 private:
  t::TempDir dir_;
  std::string capture_;
  std::unique_ptr<t::ChildProcess> child_;
};

// A child named `comm` that touches an unmapped address with SIGSEGV at its default action (the
// kernel logs only unhandled signals; a sanitizer's handler would otherwise take it).
pid_t segfault_child(const char* comm) {
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, comm);
    signal(SIGSEGV, SIG_DFL);
    volatile uintptr_t address = 0x10;  // volatile: the compiler cannot see it is unmapped
    *reinterpret_cast<volatile int*>(address) = 1;
    _exit(1);
  }
  return pid;
}

// A memory cgroup of its own, limited to `limit` bytes, removed (emptied first) at the end:
// v1 (/sys/fs/cgroup/memory) where it is mounted, else v2 with the memory controller.
class MemoryCgroup {
 public:
  explicit MemoryCgroup(uint64_t limit) {
    const std::string name = "ct-kmsg-test-" + std::to_string(getpid());
    if (::access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0) {
      path_ = "/sys/fs/cgroup/memory/" + name;
      relative_ = "/" + name;
      limit_file_ = "memory.limit_in_bytes";
    } else if (first_line("/sys/fs/cgroup/cgroup.controllers").find("memory") !=
               std::string::npos) {
      path_ = "/sys/fs/cgroup/" + name;
      relative_ = "/" + name;
      limit_file_ = "memory.max";
    } else {
      return;
    }
    if (::mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST) {
      path_.clear();
      return;
    }
    write_text(path_ + "/" + limit_file_, std::to_string(limit));
    write_text(path_ + "/memory.swappiness", "0");  // v1: reclaim does not swap the test out
  }
  ~MemoryCgroup() {
    if (!path_.empty()) ::rmdir(path_.c_str());
  }
  bool ok() const { return !path_.empty(); }
  const std::string& relative() const { return relative_; }
  std::string procs() const { return path_ + "/cgroup.procs"; }

 private:
  std::string path_, relative_, limit_file_;
};

// The state letter of /proc/PID/stat (after the last ')', since a comm may hold one).
char process_state(pid_t pid) {
  const std::string stat = t::read_file("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() ? '?' : stat[paren + 2];
}

// One record through its own open of the device: printk_devkmsg=ratelimit limits each open
// file to a burst of 10.
bool log_user_record(const std::string& text) {
  return write_text("/dev/kmsg", text);
}

}  // namespace

TEST(KernelProbeE2E, OomKillInAMemoryCgroupGivesTheVictimsPidAndItsExit) {
  CT_SKIP_UNLESS_ROOT("memory cgroups, /dev/kmsg");
  MemoryCgroup cgroup(32ull << 20);
  if (!cgroup.ok()) GTEST_SKIP() << "no memory cgroup controller to limit a process with";
  Agent agent("");
  ASSERT_TRUE(agent.observing()) << agent.err();
  const std::string procs = cgroup.procs();
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, "ct-oom-victim");
    if (!write_text(procs, std::to_string(getpid()))) _exit(2);
    // 200 MiB touched page by page, in a cgroup limited to 32 MiB.
    const size_t size = 200ull << 20;
    auto* p = static_cast<volatile char*>(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) _exit(3);
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  ASSERT_TRUE(agent.await("kernel.oom_kill", pid)) << agent.err();
  const auto oom = agent.find("kernel.oom_kill", pid);
  EXPECT_EQ(oom->guest_comm, "ct-oom-victim");
  EXPECT_EQ(oom->typed_extras.at("constraint"), "t:" + hex("CONSTRAINT_MEMCG"));
  EXPECT_EQ(oom->typed_extras.at("memcg"), "t:" + hex(cgroup.relative()));
  // The 200 MiB mapping, and at least half the limit touched (the resident figure can pass the
  // limit by what the forked child shares with the test, charged to the test's cgroup).
  EXPECT_GE(oom->extras.at("total_vm_kib"), 200u * 1024);
  EXPECT_GE(oom->extras.at("anon_rss_kib"), 16u * 1024);
  EXPECT_EQ(oom->extras.at("uid"), 0u);
  EXPECT_EQ(oom->typed_extras.at("oom_score_adj"), "0");
  EXPECT_TRUE(oom->extras.count("kmsg_seq"));
  // The process probe's exit of the same pid: a host joins the two by pid.
  ASSERT_TRUE(agent.await("process.exited", pid)) << agent.err();
  const auto exited = agent.find("process.exited", pid);
  ASSERT_TRUE(exited->typed_extras.count("signal")) << "process.exited without signal";
  EXPECT_EQ(exited->typed_extras.at("signal"), "9");
  EXPECT_EQ(agent.stop(), 0);
}

TEST(KernelProbeE2E, SegfaultIsReportedWhereTheKernelLogsIt) {
  CT_SKIP_UNLESS_ROOT("sysctls, /dev/kmsg");
  // The kernel logs unhandled segfaults only with debug.exception-trace on, and through
  // printk_ratelimit(), which other processes' segfaults may have used up: both set for the
  // test, restored after.
  const SysctlLock lock;
  Sysctl trace("/proc/sys/debug/exception-trace", "1");
  ASSERT_TRUE(trace.set());
  Sysctl ratelimit("/proc/sys/kernel/printk_ratelimit", "0");
  Agent agent("");
  ASSERT_TRUE(agent.observing()) << agent.err();
  const pid_t pid = segfault_child("ct-segv");
  EXPECT_EQ(t::wait_pid(pid), 128 + SIGSEGV);
  ASSERT_TRUE(agent.await("kernel.segfault", pid)) << agent.err();
  const auto e = agent.find("kernel.segfault", pid);
  EXPECT_EQ(e->guest_comm, "ct-segv");
  EXPECT_EQ(e->extras.at("address"), 0x10u);
  EXPECT_EQ(e->extras.at("error"), 6u);  // a user-mode write to a page not present
  EXPECT_NE(e->extras.at("ip"), 0u);
  EXPECT_NE(e->extras.at("sp"), 0u);
  EXPECT_TRUE(e->typed_extras.count("object"));
  EXPECT_EQ(agent.stop(), 0);
}

TEST(KernelProbeE2E, ForgedOomKillLineFromRootGivesNothing) {
  CT_SKIP_UNLESS_ROOT("writing to /dev/kmsg, sysctls");
  const SysctlLock lock;
  Sysctl trace("/proc/sys/debug/exception-trace", "1");
  ASSERT_TRUE(trace.set());
  Sysctl ratelimit("/proc/sys/kernel/printk_ratelimit", "0");
  Agent agent("min_level = 7");  // even kernel.log, which takes any level, must stay silent
  ASSERT_TRUE(agent.observing()) << agent.err();
  const pid_t victim = getpid();
  // Exactly the kernel's text and level (3, err): only the facility tells it apart.
  const std::string forged = "<3>Memory cgroup out of memory: Killed process " +
                             std::to_string(victim) +
                             " (ct-forged) total-vm:35372kB, anon-rss:32640kB, file-rss:860kB, "
                             "shmem-rss:0kB, UID:0 pgtables:108kB oom_score_adj:0\n";
  ASSERT_TRUE(write_text("/dev/kmsg",
                         "<6>oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),"
                         "task_memcg=/x,task=ct-forged,pid=" +
                             std::to_string(victim) + ",uid=0\n"));
  ASSERT_TRUE(write_text("/dev/kmsg", forged));
  // A kernel record after them: once it is reported, the forged ones have been read.
  const pid_t marker = segfault_child("ct-marker");
  t::wait_pid(marker);
  ASSERT_TRUE(agent.await("kernel.segfault", marker)) << agent.err();
  for (const auto& e : agent.events()) {
    // About the forged victim: a real OOM kill elsewhere (the OOM test, run in parallel) is not
    // this test's business.
    if (e.probe_source == "kernel.oom_kill") {
      EXPECT_NE(e.guest_pid, static_cast<uint32_t>(victim));
      EXPECT_NE(e.guest_comm, "ct-forged");
    }
    if (e.probe_source == "kernel.log") {
      EXPECT_EQ(e.typed_extras.at("message").find(hex("ct-forged")), std::string::npos);
    }
  }
  EXPECT_EQ(agent.stop(), 0);
}

TEST(KernelProbeE2E, DeviceThatCannotBeOpenedStopsStartUpNamingIt) {
  t::TempDir dir;
  const std::string config =
      dir.write("agent.toml", "[[probes.kernel]]\npath = \"" + dir.file("no-kmsg") +
                                  "\"\n[[sinks.capture]]\npath = \"" + dir.file("events") + "\"\n");
  const auto r = t::run_agent(
      {"--config", config, "--plugin-dir", t::plugin_dir(), "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("opening " + dir.file("no-kmsg")), std::string::npos) << r.err;
}

TEST(KernelProbeE2E, RecordsOverwrittenBeforeTheyWereReadAreCountedAsLost) {
  CT_SKIP_UNLESS_ROOT("writing to /dev/kmsg");
  Agent agent("");
  ASSERT_TRUE(agent.observing()) << agent.err();
  // The agent frozen, its read position stays where it is while the ring turns over under it.
  ASSERT_EQ(kill(agent.pid(), SIGSTOP), 0);
  ASSERT_TRUE(t::eventually([&] { return process_state(agent.pid()) == 'T'; }));
  // A reader of the test's own, starting at the end now: it sees the same overwriting (and the
  // agent, which started reading earlier, at least as much).
  const int own = ::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(own, 0);
  ASSERT_GE(::lseek(own, 0, SEEK_END), 0);
  // Debug-level user records (never on the console), until the test's reader is overwritten.
  const std::string padding(160, 'x');
  char buf[8192];
  bool overwritten = false;
  for (int batch = 0; batch < 200 && !overwritten; ++batch) {
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(log_user_record("<15>ct-kmsg-flood " + std::to_string(batch * 500 + i) + " " +
                                  padding + "\n"));
    }
    overwritten = ::read(own, buf, sizeof buf) < 0 && errno == EPIPE;
  }
  ASSERT_TRUE(overwritten) << "the ring never turned over";
  ::close(own);
  ASSERT_EQ(kill(agent.pid(), SIGCONT), 0);
  ASSERT_TRUE(agent.await("kernel.lost", agent.pid())) << agent.err();
  const auto lost = agent.find("kernel.lost", agent.pid());
  EXPECT_GT(lost->extras.at("lost_count"), 0u);
  EXPECT_EQ(agent.stop(), 0);
}
