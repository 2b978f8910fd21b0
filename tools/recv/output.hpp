// stdout written without ever blocking, so that a reader that stops reading cannot stop the
// receiver: it keeps serving signals and peers while it waits for the output to drain.
//
// O_NONBLOCK is a property of the open file description, which a pipe or tty on fd 1 shares
// with the shell or init that started us; setting it there would change their writes too. So
// pipes, FIFOs and ttys are reopened through /proc/self/fd/1 into a description of our own.
// Sockets cannot be reopened: they are written with send(MSG_DONTWAIT). Regular files are
// written as they are: a write to a file never waits for a reader (and a reopened file would
// start at offset 0, overwriting what was written before us).
#pragma once

#include <string_view>

namespace cellos::telemetry::recv {

class Output {
 public:
  // Takes over writing to fd (not closing it); throws std::runtime_error if it is not open.
  explicit Output(int fd);
  ~Output();
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Writes as much of data as fits without blocking: how many bytes were taken (0 when the
  // reader is behind). Throws std::runtime_error when the output is gone (EPIPE, EIO...).
  size_t write_some(std::string_view data);
  // The descriptor to watch for EPOLLOUT while write_some takes less than it is given.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  int own_fd_ = -1;  // the reopened description, closed with this object
  bool socket_ = false;
};

}  // namespace cellos::telemetry::recv
