#include "workload.hpp"

#include <pthread.h>
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

namespace {

std::vector<Spawn> run(int count, char* const argv[]) {
  std::vector<Spawn> spawns;
  spawns.reserve(static_cast<size_t>(count));
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

void* thread_body(void*) {
  return nullptr;
}

}  // namespace

std::vector<Spawn> run_true_processes(int count) {
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  return run(count, argv);
}

std::vector<Spawn> run_threaded_processes(int count, const std::string& self) {
  std::string path = self;
  char* const argv[] = {path.data(), const_cast<char*>("--thread-child"), nullptr};
  return run(count, argv);
}

int thread_child_main() {
  pthread_t threads[7];
  for (auto& t : threads) {
    if (pthread_create(&t, nullptr, thread_body, nullptr) != 0) return 1;
  }
  for (auto& t : threads) pthread_join(t, nullptr);
  return 0;
}

}  // namespace capture_bench
