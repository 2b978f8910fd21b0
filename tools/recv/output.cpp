#include "output.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cellos::telemetry::recv {
namespace {

std::runtime_error os_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

Output::Output(int fd) : fd_(fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw os_error("stdout");
  if (S_ISSOCK(st.st_mode)) {
    socket_ = true;
    return;
  }
  if (S_ISREG(st.st_mode)) return;
  const int flags = fcntl(fd, F_GETFL);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  own_fd_ = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | (flags & O_APPEND));
  if (own_fd_ >= 0) {
    fd_ = own_fd_;
  } else if (flags >= 0) {
    // No /proc (or a device that cannot be reopened): the shared description it has to be.
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  }
}

Output::~Output() {
  if (own_fd_ >= 0) close(own_fd_);
}

size_t Output::write_some(std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        socket_ ? send(fd_, data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL)
                : write(fd_, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      if (n == 0) errno = EIO;
      throw os_error("writing the output");
    }
  }
  return done;
}

}  // namespace cellos::telemetry::recv
