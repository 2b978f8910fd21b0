// The stdout sink: one line per event, for people (text) and pipelines (json).
//
// Standard output may be a pipe nobody reads, a slow serial console or closed. None of that may
// stall the agent's loop, so the sink writes through its own non-blocking file description (see
// open_output) and holds at most a bounded buffer; while it is full it takes no events, and the
// core's queue for this sink absorbs, drops and counts as for any slow sink.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cellos/telemetry/sdk.hpp>

#include <cerrno>
#include <cstring>

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

  size_t consume(std::span<const ct_event> events) override {
    if (closed_) return events.size();  // nobody can read them; the loss was reported once
    size_t taken = 0;
    for (const ct_event& e : events) {
      if (pending_.size() >= kMaxBuffered) break;
      json_ ? ctt::stdout_sink::append_json_line(pending_, e)
            : ctt::stdout_sink::append_text_line(pending_, e);
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
    const int flags = fcntl(STDOUT_FILENO, F_GETFL);
    own_fd_ = open("/proc/self/fd/1", (flags & O_ACCMODE) == O_RDWR ? O_RDWR : O_WRONLY);
    if (own_fd_ >= 0) {
      // Appending keeps our lines whole in a file others append to as well.
      fcntl(own_fd_, F_SETFL, O_NONBLOCK | (flags & O_APPEND));
      fd_ = own_fd_;
    } else {
      fd_ = STDOUT_FILENO;  // no /proc: blocking writes are the best that can be done
    }
  }

  void write_pending() {
    while (!pending_.empty() && !closed_) {
      const ssize_t n =
          socket_ ? send(fd_, pending_.data(), pending_.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
                  : write(fd_, pending_.data(), pending_.size());
      if (n > 0) {
        pending_.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
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
  int fd_ = STDOUT_FILENO;
  int own_fd_ = -1;
  bool socket_ = false;
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
