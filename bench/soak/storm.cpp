#include "storm.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>

extern char** environ;

namespace cellos::telemetry::soak {
namespace {

// Bit 31 of a recorded pid marks a process that exec'd (pids stay below 2^22 on Linux).
constexpr uint32_t kExecFlag = 1u << 31;

volatile sig_atomic_t g_stop = 0;

void on_stop(int) {
  g_stop = 1;
}

timespec add_ns(timespec t, uint64_t ns) {
  const uint64_t total = static_cast<uint64_t>(t.tv_nsec) + ns;
  t.tv_sec += static_cast<time_t>(total / 1000000000u);
  t.tv_nsec = static_cast<long>(total % 1000000000u);
  return t;
}

// A child that exits at once. vfork() shares this process's memory until the child's _exit,
// so no page tables are copied; kept in its own function so no caller's locals live across it.
// (posix_spawn, the usual replacement, must exec something: this child only exits.)
__attribute__((noinline)) pid_t vfork_and_exit() {
  const pid_t pid = vfork();  // NOLINT(clang-analyzer-security.insecureAPI.vfork)
  if (pid == 0) _exit(0);
  return pid;
}

// One worker: never returns.
[[noreturn]] void run_worker(const StormOptions& o, const std::string& file) {
  // Dies with the soak, so a killed soak leaves no storm behind.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  prctl(PR_SET_NAME, kStormComm);
  struct sigaction sa {};
  sa.sa_handler = on_stop;  // no SA_RESTART: a blocked waitpid returns, the loop sees the flag
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGINT, SIG_IGN);  // a Ctrl-C is the soak's to handle: it stops the storm itself

  std::vector<uint32_t> pids;
  pids.reserve(1u << 20);
  char true_path[] = "/bin/true";
  char* const argv[] = {true_path, nullptr};
  const uint64_t period_ns =
      o.rate > 0 ? static_cast<uint64_t>(1e9 * o.workers / o.rate) : 0;  // this worker's share
  timespec next{};
  clock_gettime(CLOCK_MONOTONIC, &next);
  uint64_t n = 0;
  int failures = 0;
  while (!g_stop) {
    if (period_ns > 0) {
      // Absolute deadlines: a late start is caught up, so the average rate holds.
      next = add_ns(next, period_ns);
      while (!g_stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) {
      }
      if (g_stop) break;
    }
    ++n;
    const bool exec = o.exec_every > 0 && n % static_cast<uint64_t>(o.exec_every) == 0;
    pid_t pid = -1;
    if (exec) {
      // posix_spawn uses clone(CLONE_VM | CLONE_VFORK): the kernel still reports a fork, then
      // the exec, without copying this worker's page tables.
      if (posix_spawn(&pid, true_path, nullptr, nullptr, argv, environ) != 0) pid = -1;
    } else {
      pid = vfork_and_exit();
    }
    if (pid < 0) {
      // EAGAIN under a process limit: back off a little rather than spin.
      if (++failures > 1000) break;
      usleep(1000);
      continue;
    }
    pids.push_back(static_cast<uint32_t>(pid) | (exec ? kExecFlag : 0));
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  std::FILE* f = std::fopen(file.c_str(), "wb");
  const bool ok =
      f != nullptr && std::fwrite(pids.data(), sizeof(uint32_t), pids.size(), f) == pids.size();
  if (f != nullptr && std::fclose(f) != 0) _exit(2);
  _exit(ok && failures <= 1000 ? 0 : 1);
}

}  // namespace

Storm::Storm(const StormOptions& options, const std::string& dir) {
  for (int i = 0; i < options.workers; ++i) {
    const std::string file = dir + "/storm-" + std::to_string(i) + ".pids";
    std::fflush(nullptr);  // nothing buffered may be written twice
    const pid_t pid = fork();
    if (pid == 0) run_worker(options, file);
    if (pid < 0) {
      std::perror("fork");
      continue;
    }
    workers_.push_back(pid);
    files_.push_back(file);
  }
}

Storm::~Storm() {
  for (const pid_t pid : workers_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

bool Storm::stop(StormStarts& starts, std::string& error) {
  for (const pid_t pid : workers_) kill(pid, SIGTERM);
  bool ok = true;
  for (size_t i = 0; i < workers_.size(); ++i) {
    int status = 0;
    while (waitpid(workers_[i], &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      error +=
          "storm worker " + std::to_string(i) + " failed (status " + std::to_string(status) + "); ";
      ok = false;
    }
    std::ifstream in(files_[i], std::ios::binary);
    uint32_t v = 0;
    while (in.read(reinterpret_cast<char*>(&v), sizeof v)) {
      const uint32_t pid = v & ~kExecFlag;
      ++starts.all[pid];
      ++starts.total;
      if ((v & kExecFlag) != 0) {
        ++starts.execed[pid];
        ++starts.total_execed;
      }
    }
  }
  workers_.clear();
  return ok;
}

}  // namespace cellos::telemetry::soak
