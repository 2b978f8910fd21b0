#include "workload.hpp"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

namespace capture_bench {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<Spawn> run_true_processes(int count) {
  std::vector<Spawn> spawns;
  spawns.reserve(static_cast<size_t>(count));
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  for (int i = 0; i < count; ++i) {
    const uint64_t t0 = monotonic_ns();
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      execv(argv[0], argv);
      _exit(127);
    }
    spawns.push_back(Spawn{pid, t0});
    waitpid(pid, nullptr, 0);
  }
  return spawns;
}

}  // namespace capture_bench
