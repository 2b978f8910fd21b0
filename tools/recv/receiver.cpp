#include "receiver.hpp"

#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "frame_decoder.hpp"
#include "json_line.hpp"

namespace cellos::telemetry::recv {
namespace {

constexpr size_t kPeekBytes = 64 * 1024;  // holds at least one whole frame (<= 4100 bytes)
// At the descriptor limit, how often accepting is tried again when no connection closes
// (the limit may be held by something other than our peers).
constexpr auto kLimitRetry = std::chrono::seconds(1);

using Clock = IdleList::Clock;

std::runtime_error os_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

std::string describe_peer(int fd, int family) {
  if (family == AF_VSOCK) {
    sockaddr_vm vm{};
    socklen_t len = sizeof vm;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&vm), &len) == 0) {
      return "cid " + std::to_string(vm.svm_cid) + " port " + std::to_string(vm.svm_port);
    }
    return "vsock peer";
  }
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    return "pid " + std::to_string(cred.pid);
  }
  return "unix peer";
}

}  // namespace

Receiver::Receiver(int out_fd, int err_fd, Options options)
    : err_fd_(err_fd), output_(out_fd), buffer_(kPeekBytes), idle_(options.idle_timeout) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw os_error("epoll_create1");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (signal_fd_ < 0) throw os_error("signalfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = signal_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd_, &ev) != 0) throw os_error("epoll_ctl");
}

Receiver::~Receiver() {
  for (auto& [fd, c] : connections_) close(fd);
  for (const auto& l : listeners_) {
    close(l.fd);
    if (!l.unix_path.empty()) unlink(l.unix_path.c_str());
  }
  if (signal_fd_ >= 0) close(signal_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

void Receiver::listen_on(const wire::SocketAddress& address) {
  Listener l;
  l.text = address.text;
  if (address.family() == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&address.storage);
    l.unix_path = un->sun_path;
    // A receiver killed earlier leaves its socket file behind; only a socket is replaced.
    struct stat st {};
    if (lstat(l.unix_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(l.unix_path.c_str());
  }
  l.fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (l.fd < 0) throw os_error(address.text + ": socket");
  if (bind(l.fd, address.get(), address.length) != 0 || listen(l.fd, SOMAXCONN) != 0) {
    const auto e = os_error(address.text + ": cannot listen");
    close(l.fd);
    throw e;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = l.fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, l.fd, &ev) != 0) throw os_error("epoll_ctl");
  listeners_.push_back(l);
  say("listening on " + address.text);
}

void Receiver::run() {
  epoll_event events[64];
  while (true) {
    // Sleep until the next event, the oldest connection's idle deadline, or the next try at
    // accepting when the descriptor limit was hit: no polling of peers.
    auto now = Clock::now();
    std::optional<Clock::duration> wait = idle_.until_next(now);
    if (!listening_) {
      const auto retry = std::max(Clock::duration{}, limit_retry_ - now);
      wait = wait ? std::min(*wait, retry) : retry;
    }
    const int timeout_ms =
        wait ? static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*wait).count()) : -1;
    const int n = epoll_wait(epoll_fd_, events, 64, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw os_error("epoll_wait");
    }
    now = Clock::now();
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_) {
        if (output_blocked_) finish_cut_line();  // a last try, without waiting
        return;
      }
      if (fd == output_.fd() && output_blocked_) {
        output_writable();
        continue;
      }
      bool handled = false;
      for (const auto& l : listeners_) {
        if (l.fd == fd) {
          accept_all(l);
          handled = true;
        }
      }
      if (handled) continue;
      const auto it = connections_.find(fd);
      if (it == connections_.end()) continue;
      idle_.touch(fd, now);  // an edge means new bytes (or the end) arrived
      serve(it->second, events[i].events);
    }
    expire_idle();
    if (!listening_ && Clock::now() >= limit_retry_) set_listening(true);
  }
}

void Receiver::accept_all(const Listener& l) {
  while (true) {
    const int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        at_fd_limit(l, errno);
        return;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        say("accept on " + l.text + ": " + std::strerror(errno));
        return;
      }
    }
    if (at_limit_) {
      char took[32];
      std::snprintf(took, sizeof took, "%.1f",
                    std::chrono::duration<double>(Clock::now() - limit_since_).count());
      say("accepting again on " + l.text + " after " + took + " s at the descriptor limit (" +
          std::to_string(limit_failures_) + " accept attempt(s) failed)");
      at_limit_ = false;
    }
    if (fd < 0) return;  // nothing more waiting
    Connection c;
    c.fd = fd;
    c.id = ++stats_.connections;
    sockaddr_storage local{};
    socklen_t len = sizeof local;
    getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
    c.peer = describe_peer(fd, local.ss_family);
    // Edge-triggered: data is peeked, not drained, so readiness must mean "something new".
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      say("epoll_ctl: " + std::string(std::strerror(errno)));
      close(fd);
      continue;
    }
    say("connection #" + std::to_string(c.id) + " (" + c.peer + ") opened on " + l.text);
    connections_[fd] = c;
    idle_.add(fd, Clock::now());
    serve(connections_[fd], EPOLLIN);  // data may have arrived before it was watched
  }
}

// Out of descriptors (or kernel memory): the listener would be readable on every epoll_wait
// with accept failing each time. Take the listeners out until a connection closes, and say so
// once for the whole episode, not per attempt.
void Receiver::at_fd_limit(const Listener& l, int error) {
  if (!at_limit_) {
    at_limit_ = true;
    limit_since_ = Clock::now();
    limit_failures_ = 0;
    say("accept on " + l.text + ": " + std::strerror(error) +
        "; new connections wait in the backlog until a connection closes");
  }
  ++limit_failures_;
  limit_retry_ = Clock::now() + kLimitRetry;
  set_listening(false);
}

void Receiver::set_listening(bool on) {
  if (listening_ == on) return;
  listening_ = on;
  for (const auto& l : listeners_) {
    epoll_event ev{};
    ev.events = on ? uint32_t{EPOLLIN} : 0u;
    ev.data.fd = l.fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, l.fd, &ev);
  }
}

void Receiver::serve(Connection& c, uint32_t events) {
  if (output_blocked_) {
    // Not read now: its bytes stay in the socket (it is edge-triggered, so it stays quiet).
    if (!c.parked) parked_.push_back(c.fd);
    c.parked = true;
    c.events |= events;
    return;
  }
  const bool peer_finished = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  const int fd = c.fd;
  while (true) {
    const ssize_t n = ::recv(fd, buffer_.data(), buffer_.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      close_connection(fd, std::string("closed: ") + std::strerror(errno));
      return;
    }
    if (n == 0) {
      close_connection(fd, "closed by the peer");
      return;
    }
    const std::span<const uint8_t> data(buffer_.data(), static_cast<size_t>(n));
    struct Printed {
      size_t line_end;   // in out
      size_t frame_end;  // in data
    };
    std::vector<Printed> printed;
    size_t used = 0;
    std::string out, error;
    wire::FrameSpan next;
    while (true) {
      next = wire::next_frame(data.subspan(used));
      if (next.kind == wire::FrameSpan::kBadLength) {
        error = next.error;
        break;
      }
      if (next.kind == wire::FrameSpan::kNeedMore) break;
      const auto frame = wire::decode_body(data.subspan(used + 4, next.size - 4), &error);
      if (!frame) break;
      append_json_line(*frame, out);
      used += next.size;
      printed.push_back({out.size(), used});
    }
    // Printed first, consumed second (see the class comment): only the frames whose lines
    // are wholly written are taken off the socket.
    const size_t written = out.empty() ? 0 : output_.write_some(out);
    size_t lines = 0, taken = 0;
    while (lines < printed.size() && printed[lines].line_end <= written) {
      taken = printed[lines++].frame_end;
    }
    consume(fd, taken);
    stats_.frames += lines;
    stats_.bytes += taken;
    if (written < out.size()) {
      const size_t line_start = lines ? printed[lines - 1].line_end : 0;
      if (written > line_start) {  // a line was cut: finish it before anything else
        pending_ = out.substr(written, printed[lines].line_end - written);
        cut_ = {fd, c.id, printed[lines].frame_end - taken};
      }
      output_blocked_ = true;
      idle_.pause(Clock::now());
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = output_.fd();
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, output_.fd(), &ev) != 0) {
        throw os_error("watching the output");
      }
      serve(c, events | EPOLLIN);  // parks it: the rest is read when stdout drains
      return;
    }
    if (!error.empty()) {
      ++stats_.rejected;
      close_connection(fd, "rejected frame: " + error + "; closing this connection");
      return;
    }
    if (used == 0) {
      if (peer_finished) {
        ++stats_.rejected;
        const size_t have = data.size();
        close_connection(fd, "rejected frame: truncated: the connection ended " +
                                 (next.size ? "after " + std::to_string(have) + " of " +
                                                  std::to_string(next.size) + " bytes of a frame"
                                            : "inside a length prefix (" + std::to_string(have) +
                                                  " of 4 bytes)"));
      }
      return;  // the rest of the frame comes with the next edge
    }
  }
}

void Receiver::consume(int fd, size_t bytes) {
  for (size_t taken = 0; taken < bytes;) {
    const ssize_t r =
        ::recv(fd, buffer_.data(), std::min(bytes - taken, buffer_.size()), MSG_DONTWAIT);
    if (r <= 0 && errno == EINTR) continue;
    if (r <= 0) break;  // cannot happen: the bytes were peeked
    taken += static_cast<size_t>(r);
  }
}

bool Receiver::finish_cut_line() {
  if (!pending_.empty()) {
    pending_.erase(0, output_.write_some(pending_));
    if (!pending_.empty()) return false;
  }
  if (cut_.fd >= 0) {
    const auto it = connections_.find(cut_.fd);
    if (it != connections_.end() && it->second.id == cut_.id) {
      consume(cut_.fd, cut_.bytes);
      ++stats_.frames;
      stats_.bytes += cut_.bytes;
    }
    cut_ = {};
  }
  return true;
}

// stdout took more: finish the cut line, consume its frame, then serve the parked connections
// in the order they were parked until all are served or stdout blocks again.
void Receiver::output_writable() {
  if (!finish_cut_line()) return;
  output_blocked_ = false;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, output_.fd(), nullptr);
  idle_.resume(Clock::now());
  while (!output_blocked_ && !parked_.empty()) {
    const int fd = parked_.front();
    parked_.pop_front();
    const auto it = connections_.find(fd);
    if (it == connections_.end() || !it->second.parked) continue;  // closed since
    Connection& c = it->second;
    const uint32_t events = c.events;
    c.parked = false;
    c.events = 0;
    serve(c, events | EPOLLIN);
  }
}

void Receiver::expire_idle() {
  for (const int fd : idle_.take_expired(Clock::now())) {
    close_connection(fd, "closed: idle for " + std::to_string(idle_.timeout().count()) +
                             " s (nothing received)");
  }
}

void Receiver::close_connection(int fd, const std::string& why) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  say("connection #" + std::to_string(it->second.id) + " (" + it->second.peer + "): " + why);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  connections_.erase(it);
  idle_.remove(fd);
  set_listening(true);  // a descriptor is free again
}

void Receiver::say(const std::string& line) const {
  const std::string s = "cellos-telemetry-recv: " + line + "\n";
  [[maybe_unused]] const ssize_t n = write(err_fd_, s.data(), s.size());
}

}  // namespace cellos::telemetry::recv
