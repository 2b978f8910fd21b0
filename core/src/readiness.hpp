#pragma once

#include <chrono>
#include <string>
#include <utility>

namespace cellos::telemetry {

// --fork: the parent returns to init only once the child is observing, so the workload init
// starts next can never outrun the agent. The child reports over a pipe: one line, "ready" or
// "error CODE". The parent exits 0, the child's exit code, or 70 on timeout (after killing the
// child it started, so there is never a half-started agent left behind).
class Readiness {
 public:
  // Forks. Returns in the child (with a reporter armed); in the parent it waits and exits.
  static Readiness fork_and_wait(std::chrono::milliseconds timeout);
  // A Readiness that reports nowhere (no --fork).
  Readiness() = default;
  Readiness(Readiness&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Readiness& operator=(Readiness&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Readiness();

  void ready();
  void failed(int exit_code);

 private:
  explicit Readiness(int fd) : fd_(fd) {}
  void send(const std::string& line);
  int fd_ = -1;
};

}  // namespace cellos::telemetry
