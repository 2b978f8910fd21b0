#include "receiver.hpp"

#include <linux/vm_sockets.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "frame_decoder.hpp"
#include "json_line.hpp"

namespace cellos::telemetry::recv {
namespace {

constexpr size_t kPeekBytes = 64 * 1024;  // holds at least one whole frame (<= 4100 bytes)

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

Receiver::Receiver(int out_fd, int err_fd) : out_fd_(out_fd), err_fd_(err_fd), buffer_(kPeekBytes) {
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
    const int n = epoll_wait(epoll_fd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw os_error("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_) return;
      bool handled = false;
      for (const auto& l : listeners_) {
        if (l.fd == fd) {
          accept_all(l);
          handled = true;
        }
      }
      if (handled) continue;
      const auto it = connections_.find(fd);
      if (it != connections_.end()) serve(it->second, events[i].events);
    }
  }
}

void Receiver::accept_all(const Listener& l) {
  while (true) {
    const int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        say("accept on " + l.text + ": " + std::strerror(errno));
      return;
    }
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
    serve(connections_[fd], EPOLLIN);  // data may have arrived before it was watched
  }
}

void Receiver::serve(Connection& c, uint32_t events) {
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
    size_t used = 0;
    uint64_t frames = 0;
    std::string out, error;
    FrameSpan next;
    while (true) {
      next = next_frame(data.subspan(used));
      if (next.kind == FrameSpan::kBadLength) {
        error = next.error;
        break;
      }
      if (next.kind == FrameSpan::kNeedMore) break;
      const auto frame = decode_body(data.subspan(used + 4, next.size - 4), &error);
      if (!frame) break;
      append_json_line(*frame, out);
      used += next.size;
      ++frames;
    }
    // Printed first, consumed second: see the class comment.
    if (!out.empty()) write_out(out);
    for (size_t taken = 0; taken < used;) {
      const ssize_t r = ::recv(fd, buffer_.data(), used - taken, MSG_DONTWAIT);
      if (r <= 0 && errno == EINTR) continue;
      if (r <= 0) break;  // cannot happen: the bytes were just peeked
      taken += static_cast<size_t>(r);
    }
    stats_.frames += frames;
    stats_.bytes += used;
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

void Receiver::close_connection(int fd, const std::string& why) {
  const auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  say("connection #" + std::to_string(it->second.id) + " (" + it->second.peer + "): " + why);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  close(fd);
  connections_.erase(it);
}

void Receiver::write_out(const std::string& s) {
  for (size_t done = 0; done < s.size();) {
    const ssize_t n = write(out_fd_, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw os_error("writing the output");
    done += static_cast<size_t>(n);
  }
}

void Receiver::say(const std::string& line) const {
  const std::string s = "cellos-telemetry-recv: " + line + "\n";
  [[maybe_unused]] const ssize_t n = write(err_fd_, s.data(), s.size());
}

}  // namespace cellos::telemetry::recv
