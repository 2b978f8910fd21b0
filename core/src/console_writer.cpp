#include "console_writer.hpp"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace cellos::telemetry {

ConsoleWriter::ConsoleWriter(int target_fd, std::string notice_prefix, size_t capacity)
    : notice_prefix_(std::move(notice_prefix)), capacity_(capacity) {
  open_target(target_fd);
}

ConsoleWriter::~ConsoleWriter() {
  if (own_fd_) close(fd_);
}

void ConsoleWriter::open_target(int target_fd) {
  struct stat st {};
  if (fstat(target_fd, &st) != 0) {
    gone_ = true;  // closed: nowhere to write, nobody to tell
    return;
  }
  fd_ = target_fd;
  if (S_ISSOCK(st.st_mode)) {
    socket_ = true;
    return;
  }
  // O_NONBLOCK at open too: a FIFO without a reader then fails (ENXIO) instead of blocking, and
  // O_NOCTTY keeps a session leader (the agent after --fork) from acquiring the console.
  const int flags =
      O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_APPEND : 0);
  const int fd = open(("/proc/self/fd/" + std::to_string(target_fd)).c_str(), flags);
  if (fd >= 0) {
    fd_ = fd;
    own_fd_ = true;
  } else if (errno == ENXIO) {
    gone_ = true;  // a FIFO nobody reads: every write would fail with EPIPE
  } else {
    poll_first_ = !S_ISREG(st.st_mode);  // no /proc: the shared description, carefully
  }
}

long ConsoleWriter::write_chunk() {
  // Whole lines, at most PIPE_BUF bytes: a pipe takes that atomically or not at all.
  const std::string_view rest = std::string_view(buf_).substr(head_);
  const size_t window = std::min<size_t>(rest.size(), PIPE_BUF);
  const size_t last_newline = rest.substr(0, window).rfind('\n');
  const size_t len = last_newline == std::string_view::npos ? window : last_newline + 1;
  if (poll_first_) {
    pollfd p{fd_, POLLOUT, 0};
    if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLOUT))
      return (p.revents & (POLLERR | POLLHUP)) ? -1 : 0;
  }
  while (true) {
    const ssize_t n = socket_ ? send(fd_, rest.data(), len, MSG_DONTWAIT | MSG_NOSIGNAL)
                              : write(fd_, rest.data(), len);
    if (n > 0) return n;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;  // EPIPE, EIO, ENOSPC...: the console is gone
  }
}

bool ConsoleWriter::flush() {
  while (!gone_) {
    if (head_ == buf_.size()) {
      buf_.clear();
      head_ = 0;
      if (unreported_ == 0) return true;
      // The backlog drained: say what is missing, where it is missing.
      buf_ = notice_prefix_ + std::to_string(unreported_) +
             " log line(s) dropped: the console was not taking output\n";
      unreported_ = 0;
      dropping_ = false;
    }
    const long n = write_chunk();
    if (n < 0) {
      gone_ = true;
      buf_.clear();
      head_ = 0;
      break;
    }
    if (n == 0) break;
    head_ += static_cast<size_t>(n);
  }
  if (head_ > capacity_ / 2) {  // keep the buffer from growing past its bound
    buf_.erase(0, head_);
    head_ = 0;
  }
  return gone_ || buffered() == 0;
}

bool ConsoleWriter::write_line(std::string_view line) {
  if (gone_) return false;
  flush();
  const size_t size = std::min<size_t>(line.size(), PIPE_BUF - 1) + 1;
  if (dropping_ || buffered() + size > capacity_) {
    dropping_ = true;
    ++unreported_;
    ++dropped_total_;
    return false;
  }
  buf_.append(line.substr(0, size - 1));
  buf_ += '\n';
  flush();
  return true;
}

int ConsoleWriter::pending_fd() const {
  return !gone_ && (buffered() > 0 || unreported_ > 0) ? fd_ : -1;
}

}  // namespace cellos::telemetry
