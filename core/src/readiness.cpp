#include "readiness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "event.hpp"
#include "exit_codes.hpp"
#include "log.hpp"

namespace cellos::telemetry {
namespace {

[[noreturn]] void parent_wait(pid_t child, int fd, std::chrono::milliseconds timeout) {
  std::string line;
  const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout.count()) * 1000000u;
  while (line.find('\n') == std::string::npos) {
    const uint64_t now = monotonic_ns();
    if (now >= deadline) {
      log_line(CT_LOG_ERROR, "the agent (pid " + std::to_string(child) +
                                 ") did not report ready within " +
                                 std::to_string(timeout.count()) + " ms; stopped it");
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      std::_Exit(kExitSoftware);
    }
    pollfd p{fd, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>((deadline - now) / 1000000u) + 1);
    if (r < 0 && errno != EINTR) std::_Exit(kExitSoftware);
    if (r <= 0) continue;
    char buf[64];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      line.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The child closed the pipe without a word: it died. Its status says how.
    int status = 0;
    waitpid(child, &status, 0);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : kExitSoftware;
    log_line(CT_LOG_ERROR, "the agent exited before it was ready (" +
                               (WIFEXITED(status) ? "exit code " + std::to_string(code)
                                                  : "signal " + std::to_string(WTERMSIG(status))) +
                               ")");
    std::_Exit(code == 0 ? kExitSoftware : code);
  }
  if (line.rfind("ready", 0) == 0) {
    log_line(CT_LOG_INFO, "agent running as pid " + std::to_string(child));
    std::_Exit(kExitOk);
  }
  int code = std::atoi(line.c_str() + (line.size() > 6 ? 6 : 0));
  int status = 0;
  waitpid(child, &status, 0);
  std::_Exit(code > 0 ? code : kExitSoftware);
}

}  // namespace

Readiness Readiness::fork_and_wait(std::chrono::milliseconds timeout) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  const pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid > 0) {
    close(fds[1]);
    parent_wait(pid, fds[0], timeout);
  }
  close(fds[0]);
  // Its own session: a console hang-up or Ctrl-C meant for init's foreground does not reach it.
  setsid();
  return Readiness(fds[1]);
}

Readiness::~Readiness() {
  if (fd_ >= 0) close(fd_);
}

void Readiness::send(const std::string& line) {
  if (fd_ < 0) return;
  [[maybe_unused]] const ssize_t n = write(fd_, line.data(), line.size());
  close(fd_);
  fd_ = -1;
}

void Readiness::ready() {
  send("ready\n");
}

void Readiness::failed(int exit_code) {
  send("error " + std::to_string(exit_code) + "\n");
}

}  // namespace cellos::telemetry
