// What one steady-state procfs sweep costs with 100, 1,000 and 10,000 processes alive: the
// process probe's walker (ProcfsWalker) next to the floor, a bare getdents64 listing of /proc,
// and the seed's way (list /proc, then read every pid's comm). CPU time of this thread,
// averaged over many sweeps; the processes are paused children of this program.
//   cellos-telemetry-bench-sweep [COUNT...]   (default 100 1000 10000)
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "procfs_walker.hpp"

namespace proc = cellos::telemetry::process;

namespace {

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Mean CPU milliseconds of one call of f, over enough calls to take ~0.5 s of CPU.
double cost_ms(const std::function<void()>& f) {
  f();  // warm: dentries, the walker's table
  int n = 0;
  const double start = thread_cpu_ms();
  double now = start;
  while (now - start < 500 || n < 20) {
    f();
    ++n;
    now = thread_cpu_ms();
  }
  return (now - start) / n;
}

size_t bare_listing(int dir_fd) {
  alignas(8) static char buf[65536];
  lseek(dir_fd, 0, SEEK_SET);
  size_t entries = 0;
  while (true) {
    const long n = syscall(SYS_getdents64, dir_fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const dirent64*>(buf + off);
      entries += d->d_name[0] >= '1' && d->d_name[0] <= '9';
      off += d->d_reclen;
    }
  }
  return entries;
}

// The seed's sweep: readdir /proc, then open and read each pid's comm.
size_t seed_sweep() {
  DIR* d = opendir("/proc");
  size_t n = 0;
  char path[300], comm[32];
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    n += read(fd, comm, sizeof comm) > 0;
    close(fd);
  }
  closedir(d);
  return n;
}

struct NullReporter : proc::Reporter {
  void report(const proc::ProcessRecord&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) counts.push_back(std::stoi(argv[i]));
  if (counts.empty()) counts = {100, 1000, 10000};

  const int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const size_t baseline = bare_listing(proc_fd);
  std::printf(
      "| processes alive | walker (ms/sweep) | bare getdents64 (ms) | seed: list + read "
      "comm (ms) |\n|---|---|---|---|\n");
  std::vector<pid_t> children;
  for (const int count : counts) {
    // Top up to `count` processes beyond those already running.
    while (children.size() + baseline < static_cast<size_t>(count)) {
      const pid_t pid = fork();
      if (pid == 0) {
        pause();
        _exit(0);
      }
      if (pid < 0) break;
      children.push_back(pid);
    }
    proc::ProcessTable table(65536);
    proc::ProcfsWalker walker("/proc", table);
    NullReporter sink;
    walker.sweep(sink, false);
    const double walk = cost_ms([&] { walker.sweep(sink, true); });
    const double bare = cost_ms([&] { bare_listing(proc_fd); });
    const double seed = cost_ms([&] { seed_sweep(); });
    std::printf("| %zu | %.3f | %.3f | %.3f |\n", bare_listing(proc_fd), walk, bare, seed);
    std::fflush(stdout);
  }
  for (const pid_t pid : children) kill(pid, SIGKILL);
  for (const pid_t pid : children) waitpid(pid, nullptr, 0);
  return 0;
}
