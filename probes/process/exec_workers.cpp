#include "exec_workers.hpp"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <future>
#include <system_error>
#include <thread>
#include <utility>

#include "exec_trigger.hpp"

namespace cellos::telemetry::process {

struct ExecWorkers::Worker {
  explicit Worker(int c) : cpu(c), trigger(c) {}
  int cpu;
  ExecTrigger trigger;
  std::promise<std::string> started;  // what the kernel refused of the priority
  std::thread thread;
};

std::optional<std::vector<int>> ExecWorkers::every_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return std::nullopt;
  // The affinity mask holds online CPUs only: all of them, or some CPU would wake nobody.
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online <= 0 || CPU_COUNT(&allowed) != online) return std::nullopt;
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

ExecWorkers::ExecWorkers(const std::vector<int>& cpus, std::mutex& lock, OnExec on_exec,
                         WakeupPriority priority, size_t max_per_wake)
    : lock_(lock), on_exec_(std::move(on_exec)), priority_(priority), max_per_wake_(max_per_wake) {
  stop_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_) throw std::system_error(errno, std::generic_category(), "exec workers: eventfd");
  for (int cpu : cpus) workers_.push_back(std::make_unique<Worker>(cpu));
  // The threads take no signal: the agent's own thread handles them (signalfd or handlers).
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  try {
    for (auto& w : workers_) w->thread = std::thread([this, &w = *w] { run(w); });
  } catch (...) {  // std::system_error, or bad_alloc: joined, or a joinable thread terminates
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    stop_and_join();  // those started
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  for (auto& w : workers_) {
    std::string refused = w->started.get_future().get();
    if (fallback_.empty()) fallback_ = std::move(refused);
  }
}

ExecWorkers::~ExecWorkers() {
  stop_and_join();
}

void ExecWorkers::stop_and_join() {
  if (stop_) {
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = write(stop_.get(), &one, sizeof one);
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  workers_.clear();
}

void ExecWorkers::drain_all() {
  for (auto& w : workers_) w->trigger.drain(on_exec_, max_per_wake_);
}

void ExecWorkers::run(Worker& w) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(w.cpu, &one);
  sched_setaffinity(0, sizeof one, &one);  // refused: it still reads, from wherever it runs
  WakeupPriorityScope scheduled(priority_);
  w.started.set_value(scheduled.fallback());
  pollfd fds[2] = {{w.trigger.fd(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents != 0) {
      std::lock_guard<std::mutex> held(lock_);
      w.trigger.drain(on_exec_, max_per_wake_);
    }
  }
}

}  // namespace cellos::telemetry::process
