// The stdout sink: one line per event, for people (text) and pipelines (json).
//
// Standard output may be a pipe nobody reads, a slow serial console or closed. None of that may
// stall the agent's loop, so the sink writes through its own non-blocking file description (see
// open_output) and holds at most a bounded buffer; while it is full it takes no events, and the
// core's queue for this sink absorbs, drops and counts as for any slow sink.
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cellos/telemetry/sdk.hpp>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "line_format.hpp"

namespace {

namespace ctt = cellos::telemetry;

constexpr size_t kMaxBuffered = 256 * 1024;

class StdoutSink : public ctt::Sink {
 public:
  StdoutSink(ctt::Host host, const ctt::Options& opts)
      : host_(host), json_(opts.get_string("format") == "json") {}

  ~StdoutSink() override {
    if (own_fd_ >= 0) close(own_fd_);
  }

  void start() override { open_output(); }

  size_t consume(ctt::Events events) override {
    if (closed_) return events.size();  // nobody can read them; the loss was reported once
    size_t taken = 0;
    for (const ct_event& e : events) {
      if (pending_.size() >= kMaxBuffered) break;
      // Numbered per stream like the vsock sink's frames: from 1, and from 1 again at
      // agent.restored.
      if (ctt::restored_stream_id(e) != 0) next_seq_ = 1;
      json_ ? ctt::stdout_sink::append_json_line(pending_, e, next_seq_)
            : ctt::stdout_sink::append_text_line(pending_, e);
      ++next_seq_;
      ++taken;
    }
    write_pending();  // flushed per batch
    return taken;
  }

  void on_fd(int /*fd*/, uint32_t /*events*/) override {
    write_pending();
    if (pending_.size() < kMaxBuffered) host_.wake();
  }

  bool flush() override {
    write_pending();
    return pending_.empty() || closed_;
  }

 private:
  // A new open file description for fd 1, so O_NONBLOCK does not leak into the shell or
  // init that shares ours. /proc/self/fd/1 reopens pipes, FIFOs, ttys and files; sockets
  // cannot be reopened, so they are written with MSG_DONTWAIT instead.
  void open_output() {
    struct stat st {};
    if (fstat(STDOUT_FILENO, &st) != 0) {
      mark_closed(std::string("stdout is not open: ") + std::strerror(errno));
      return;
    }
    if (S_ISSOCK(st.st_mode)) {
      fd_ = STDOUT_FILENO;
      socket_ = true;
      return;
    }
    regular_ = S_ISREG(st.st_mode);
    const int flags = fcntl(STDOUT_FILENO, F_GETFL);
    // A regular file is always appended to: with `> FILE 2>&1` the agent's log writes the same
    // file through a description of its own, and two descriptions at their own offsets would
    // overwrite each other. O_NONBLOCK at open: a FIFO without a reader fails instead of
    // blocking; O_NOCTTY: the agent (a session leader after --fork) must not take the console.
    own_fd_ = open("/proc/self/fd/1", ((flags & O_ACCMODE) == O_RDWR ? O_RDWR : O_WRONLY) |
                                          O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                                          (regular_ || (flags & O_APPEND) ? O_APPEND : 0));
    if (own_fd_ >= 0) {
      fd_ = own_fd_;
    } else if (errno == ENXIO) {
      mark_closed("stdout is a FIFO nobody reads");
    } else {
      fd_ = STDOUT_FILENO;  // no /proc: blocking writes are the best that can be done
    }
  }

  // How much of rest to write next: all of it for a regular file (appends do not interleave);
  // otherwise whole lines of at most PIPE_BUF bytes, which a pipe takes atomically or not at
  // all, so a log line on the same pipe never lands inside one of ours.
  size_t next_chunk(std::string_view rest) const {
    if (regular_ || rest.size() <= PIPE_BUF) return rest.size();
    const size_t last_newline = rest.rfind('\n', PIPE_BUF - 1);
    return last_newline == std::string_view::npos ? PIPE_BUF : last_newline + 1;
  }

  void write_pending() {
    size_t written = 0;
    while (written < pending_.size() && !closed_) {
      const std::string_view rest = std::string_view(pending_).substr(written);
      const size_t len = next_chunk(rest);
      const ssize_t n = socket_ ? send(fd_, rest.data(), len, MSG_DONTWAIT | MSG_NOSIGNAL)
                                : write(fd_, rest.data(), len);
      if (n > 0) {
        written += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pending_.erase(0, written);
        if (!watching_) {
          host_.watch_fd(fd_, CT_FD_WRITE);
          watching_ = true;
        }
        return;
      } else {
        mark_closed(std::string("cannot write to stdout: ") +
                    (n < 0 ? std::strerror(errno) : "wrote nothing"));
      }
    }
    if (!closed_) pending_.erase(0, written);
    if (watching_) {
      host_.unwatch_fd(fd_);
      watching_ = false;
    }
  }

  void mark_closed(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    pending_.clear();
    if (watching_) {
      host_.unwatch_fd(fd_);
      watching_ = false;
    }
    host_.warn(why + "; events for this sink are discarded from now on");
  }

  ctt::Host host_;
  bool json_;
  uint64_t next_seq_ = 1;  // JSON lines' seq
  int fd_ = STDOUT_FILENO;
  int own_fd_ = -1;
  bool socket_ = false;
  bool regular_ = false;
  bool watching_ = false;
  bool closed_ = false;
  std::string pending_;
};

constexpr const char* kFormats[] = {"json", "text", nullptr};
constexpr ct_option_spec kOptions[] = {
    ctt::string_option("format",
                       "\"json\": one JSON object per line with the wire's keys; \"text\": one "
                       "aligned line for people",
                       "json", kFormats),
};

}  // namespace

CELLOS_TELEMETRY_SINK(StdoutSink, "stdout", "0.1.0", "writes events to standard output", kOptions)
