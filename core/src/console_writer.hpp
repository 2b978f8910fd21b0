// Whole lines to a console that may stall, without ever blocking.
//
// The agent's stderr is typically a serial console or a pipe to the VMM that nobody may be
// draining. A blocking write there would freeze the event loop (no frames, no SIGTERM), so lines
// go through a bounded buffer and a non-blocking open file description of their own:
//
// - The description is new (reopened through /proc/self/fd/N, O_NONBLOCK), so the shell's or
//   init's description stays as it was; a socket cannot be reopened and is written with
//   MSG_DONTWAIT instead. A regular file is opened O_APPEND: `agent > FILE 2>&1` gives the agent
//   two descriptions of FILE (this one and the stdout sink's), and appending is what keeps them
//   from overwriting each other.
// - Lines are written in chunks of whole lines of at most PIPE_BUF bytes, which a pipe takes
//   atomically or not at all: a line is never torn by another writer on the same pipe (the
//   stdout sink). Longer lines are cut to PIPE_BUF. (A tty or a stream socket may take part of a
//   chunk; the rest of that line is then written before anything else of ours.)
// - A line that does not fit in the buffer is dropped whole and counted, and so is every line
//   after it until the backlog has drained; then one notice says how many were dropped, right
//   where they are missing.
// - Without /proc, the shared description is written only when poll() says it has room, in
//   chunks a pipe takes whole; that avoids blocking on a full pipe, not on a slow tty.
//
// Not thread-safe; log.cpp serialises callers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cellos::telemetry {

class ConsoleWriter {
 public:
  static constexpr size_t kDefaultCapacity = 64 * 1024;

  // Writes to what target_fd refers to now. notice_prefix starts the line that reports drops.
  ConsoleWriter(int target_fd, std::string notice_prefix, size_t capacity = kDefaultCapacity);
  ~ConsoleWriter();
  ConsoleWriter(const ConsoleWriter&) = delete;
  ConsoleWriter& operator=(const ConsoleWriter&) = delete;

  // Queues line (a newline is added; it must not hold one) and writes what it can without
  // blocking. False when the line was dropped.
  bool write_line(std::string_view line);
  // Writes what it can without blocking. True when nothing is left to write.
  bool flush();
  // The fd to wait on for writability while lines are waiting; -1 when nothing waits.
  int pending_fd() const;

  uint64_t dropped_total() const { return dropped_total_; }
  size_t buffered() const { return buf_.size() - head_; }

 private:
  void open_target(int target_fd);
  // One write of the next chunk: bytes written, 0 when the target has no room, -1 when it is
  // gone (then everything is discarded from now on).
  long write_chunk();

  int fd_ = -1;
  bool own_fd_ = false;
  bool socket_ = false;
  bool poll_first_ = false;  // no description of our own: write only when poll() says so
  bool gone_ = false;
  std::string notice_prefix_;
  size_t capacity_;
  std::string buf_;
  size_t head_ = 0;  // bytes of buf_ already written
  bool dropping_ = false;
  uint64_t unreported_ = 0;
  uint64_t dropped_total_ = 0;
};

}  // namespace cellos::telemetry
