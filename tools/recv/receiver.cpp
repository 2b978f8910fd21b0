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
#include <optional>
#include <stdexcept>
#include <string_view>

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

std::optional<uint64_t> unsigned_extra(const wire::Frame& f, std::string_view key) {
  for (const auto& [k, v] : f.extras) {
    if (k == key) {
      if (v.type == wire::ExtraValue::kUnsigned) return v.number;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string range_text(uint64_t from, uint64_t to) {
  return from == to ? std::to_string(from) : std::to_string(from) + "-" + std::to_string(to);
}

uint32_t peer_cid(int fd) {
  sockaddr_vm vm{};
  socklen_t len = sizeof vm;
  return getpeername(fd, reinterpret_cast<sockaddr*>(&vm), &len) == 0 ? vm.svm_cid : 0;
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
    : options_(options),
      err_(err_fd),
      output_(out_fd),
      buffer_(kPeekBytes),
      idle_(options.idle_timeout) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw os_error("epoll_create1");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
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

void Receiver::listen_on(const ListenSpec& spec) {
  for (const auto& other : listeners_) {
    if (!spec.label.empty() && other.label == spec.label) {
      throw std::invalid_argument("--listen " + spec.address.text + ": the label '" + spec.label +
                                  "' is already used by " + other.text +
                                  "; give one with LABEL=ADDRESS");
    }
  }
  const wire::SocketAddress& address = spec.address;
  Listener l;
  l.text = address.text;
  l.label = spec.label;
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
  say("listening on " + address.text + " (vm " + (l.label.empty() ? "by peer CID" : l.label) + ")");
}

void Receiver::watch(const std::string& dir, uint32_t port) {
  watch_ = std::make_unique<DirWatch>(dir);
  watch_port_ = port;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = watch_->fd();
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, watch_->fd(), &ev) != 0) throw os_error("epoll_ctl");
  say("watching " + watch_->dir() + " for Firecracker vsock sockets (port " + std::to_string(port) +
      ")");
  for (const auto& name : watch_->list()) add_vm(name);
}

void Receiver::add_vm(const std::string& name) {
  for (const auto& l : listeners_) {
    if (l.vm_socket == name) return;  // seen in the listing and by inotify
  }
  const std::string socket = watch_->dir() + "/" + name;
  try {
    ListenSpec spec = parse_listen_spec("unix:" + socket + "_" + std::to_string(watch_port_));
    // Two sockets that differ only in their extension: the second keeps its whole name.
    for (const auto& l : listeners_) {
      if (l.label == spec.label) spec.label = label_from_socket_path(name + "_0");
    }
    for (const auto& l : listeners_) {
      if (l.label == spec.label) throw std::invalid_argument("label " + spec.label + " in use");
    }
    listen_on(spec);
    listeners_.back().vm_socket = name;
  } catch (const std::exception& e) {
    say("VM socket " + socket + ": not served: " + e.what());
  }
}

void Receiver::remove_listener(size_t index, const std::string& why) {
  const Listener l = listeners_[index];
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, l.fd, nullptr);
  close(l.fd);
  if (!l.unix_path.empty()) unlink(l.unix_path.c_str());
  listeners_.erase(listeners_.begin() + static_cast<std::ptrdiff_t>(index));
  say("stopped listening on " + l.text + " (vm " + l.label + "): " + why);
}

// The VM's connections are left to end by themselves: what they still hold is read first.
void Receiver::watch_changed() {
  for (const auto& change : watch_->changes()) {
    switch (change.kind) {
      case DirWatch::Change::kAppeared:
        add_vm(change.name);
        break;
      case DirWatch::Change::kGone:
        for (size_t i = 0; i < listeners_.size(); ++i) {
          if (listeners_[i].vm_socket == change.name) {
            remove_listener(i, "VM socket " + watch_->dir() + "/" + change.name + " gone");
            break;
          }
        }
        break;
      case DirWatch::Change::kRescan: {
        const auto now = watch_->list();
        for (size_t i = listeners_.size(); i-- > 0;) {
          const auto& vm = listeners_[i].vm_socket;
          if (!vm.empty() && std::find(now.begin(), now.end(), vm) == now.end()) {
            remove_listener(i, "VM socket gone (found on a rescan)");
          }
        }
        for (const auto& name : now) add_vm(name);
        break;
      }
      case DirWatch::Change::kDirGone:
        say("--watch " + watch_->dir() + ": the directory is gone; no new VMs will be seen");
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, watch_->fd(), nullptr);
        return;
    }
  }
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
        signalfd_siginfo si{};
        bool stop = false, summary = false;
        while (read(signal_fd_, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
          (si.ssi_signo == SIGUSR1 ? summary : stop) = true;
        }
        if (summary) print_summary();
        if (!stop) continue;
        if (output_blocked_) finish_cut_line();  // a last try, without waiting
        return;
      }
      if (fd == err_.fd() && err_watched_) {
        if (err_.flush()) {
          epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, err_.fd(), nullptr);
          err_watched_ = false;
        }
        continue;
      }
      if (watch_ && fd == watch_->fd()) {
        watch_changed();
        continue;
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
    c.label = l.label.empty() ? "cid" + std::to_string(peer_cid(fd)) : l.label;
    // Edge-triggered: data is peeked, not drained, so readiness must mean "something new".
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      say("epoll_ctl: " + std::string(std::strerror(errno)));
      close(fd);
      continue;
    }
    say("connection #" + std::to_string(c.id) + " (" + c.peer + ") opened on " + l.text + " (vm " +
        c.label + ")");
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
    std::vector<Seen> seen;  // per frame, as printed
    // The streams as they were before this batch, to undo what an unwritten part did.
    std::vector<std::pair<StreamKey, std::optional<StreamState>>> before;
    const std::optional<uint64_t> stream_before = c.stream;
    VmFile* file = nullptr;  // --out-dir: opened with the VM's first frame
    size_t used = 0, dropped = 0;
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
      // Before any accounting: opening the file may tell where an earlier run left a stream.
      if (!file && !options_.out_dir.empty()) file = &file_for(c.label);
      const auto hello_stream =
          frame->probe_source == "agent.hello" ? unsigned_extra(*frame, "stream_id") : std::nullopt;
      const auto touched = hello_stream ? hello_stream : c.stream;
      if (touched && std::none_of(before.begin(), before.end(),
                                  [&](const auto& b) { return b.first.id == *touched; })) {
        const StreamKey key{c.label, *touched};
        before.emplace_back(key, seq_.get(key));
      }
      const Seen s = account(c, *frame);
      if (options_.dedupe && s.what == Seen::kFrame && s.verdict.kind == Verdict::kDuplicate) {
        ++dropped;
      } else {
        append_json_line(*frame, out, {c.label, c.stream});
      }
      used += next.size;
      printed.push_back({out.size(), used});
      seen.push_back(s);
    }
    // Printed first, consumed second (see the class comment): only the frames whose lines
    // are wholly written are taken off the socket.
    size_t written = 0;
    if (file) {
      file->append(out);  // whole or not at all (it throws)
      written = out.size();
    } else if (!out.empty()) {
      written = output_.write_some(out);
    }
    size_t lines = 0, taken = 0;
    while (lines < printed.size() && printed[lines].line_end <= written) {
      taken = printed[lines++].frame_end;
    }
    if (lines < printed.size()) {
      // Not all written: the streams as if only the written frames had come.
      for (auto& [stream, state] : before) seq_.put(stream, std::move(state));
      c.stream = stream_before;
      for (size_t i = 0; i < lines; ++i) apply(c, seen[i]);
      dropped = 0;
      for (size_t i = 0; i < lines; ++i) {
        if (seen[i].what == Seen::kFrame && seen[i].verdict.kind == Verdict::kDuplicate &&
            options_.dedupe) {
          ++dropped;
        }
      }
    }
    report(c, seen, lines);
    consume(fd, taken);
    stats_.frames += lines - dropped;
    stats_.dropped_duplicates += dropped;
    stats_.bytes += taken;
    if (written < out.size()) {
      const size_t line_start = lines ? printed[lines - 1].line_end : 0;
      if (written > line_start) {  // a line was cut: finish it before anything else
        pending_ = out.substr(written, printed[lines].line_end - written);
        cut_ = {fd, c.id, printed[lines].frame_end - taken, seen[lines]};
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
      apply(it->second, cut_.seen);
      report(it->second, {cut_.seen}, 1);
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

void Receiver::say(const std::string& line) {
  err_.line("cellos-telemetry-recv: " + line);
  watch_stderr();
}

void Receiver::watch_stderr() {
  if (!err_.waiting() || err_watched_) return;
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.fd = err_.fd();
  err_watched_ = epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, err_.fd(), &ev) == 0;
}

VmFile& Receiver::file_for(const std::string& label) {
  auto& slot = files_[label];
  if (slot) return *slot;
  slot = std::make_unique<VmFile>(options_.out_dir, label, options_.rotate_bytes,
                                  options_.rotate_keep);
  if (slot->repaired_bytes() > 0) {
    say(slot->path() + ": removed the last " + std::to_string(slot->repaired_bytes()) +
        " byte(s), a line cut short by a crash (its frame was not consumed: it comes again)");
  }
  if (const auto last = slot->last_seq()) {
    seq_.resume({label, last->first}, last->second);
    say(slot->path() + ": stream " + std::to_string(last->first) + " written up to seq " +
        std::to_string(last->second) + "; counting on from there");
  }
  return *slot;
}

Receiver::Seen Receiver::account(Connection& c, const wire::Frame& frame) {
  Seen s;
  if (frame.probe_source == "agent.hello") {
    const auto stream = unsigned_extra(frame, "stream_id");
    if (!stream) return s;
    s.what = Seen::kHello;
    s.stream = *stream;
    s.seq = unsigned_extra(frame, "first_seq").value_or(1);
  } else if (c.stream) {
    const auto seq = unsigned_extra(frame, "seq");
    if (!seq) return s;
    s.what = Seen::kFrame;
    s.stream = *c.stream;
    s.seq = *seq;
  }
  apply(c, s);
  return s;
}

void Receiver::apply(Connection& c, Seen& s) {
  if (s.what == Seen::kHello) {
    c.stream = s.stream;
    s.verdict = seq_.hello({c.label, s.stream}, s.seq);
  } else if (s.what == Seen::kFrame) {
    s.verdict = seq_.frame({c.label, s.stream}, s.seq);
  }
}

// What the written frames showed: each gap with its range, duplicates as runs, one line each.
void Receiver::report(const Connection& c, const std::vector<Seen>& seen, size_t count) {
  const std::string who = "connection #" + std::to_string(c.id) + " (vm " + c.label + ")";
  std::string dups;
  uint64_t dup_count = 0, run_from = 0, run_to = 0, dup_stream = 0;
  const auto end_run = [&] {
    if (dup_count == 0) return;
    dups += (dups.empty() ? "" : ", ") + range_text(run_from, run_to);
  };
  for (size_t i = 0; i < count; ++i) {
    const Seen& s = seen[i];
    if (s.what == Seen::kHello) {
      say(who + ": agent.hello: stream " + std::to_string(s.stream) + ", first_seq " +
          std::to_string(s.seq));
    }
    if (s.verdict.kind == Verdict::kGap) {
      say(who + ": stream " + std::to_string(s.stream) + ": gap: seq " +
          range_text(s.verdict.from, s.verdict.to) + " missing (" +
          std::to_string(s.verdict.to - s.verdict.from + 1) + " frame(s))");
    } else if (s.verdict.kind == Verdict::kLate) {
      say(who + ": stream " + std::to_string(s.stream) + ": seq " + std::to_string(s.seq) +
          " arrived late (was missing)");
    } else if (s.what == Seen::kFrame && s.verdict.kind == Verdict::kDuplicate) {
      if (dup_count > 0 && s.seq == run_to + 1) {
        run_to = s.seq;
      } else {
        end_run();
        run_from = run_to = s.seq;
      }
      ++dup_count;
      dup_stream = s.stream;
    }
  }
  end_run();
  if (dup_count > 0) {
    say(who + ": stream " + std::to_string(dup_stream) + ": " + std::to_string(dup_count) +
        " duplicate(s), seq " + dups + (options_.dedupe ? " (dropped)" : " (printed again)"));
  }
}

void Receiver::print_summary() {
  const auto& s = stats_;
  uint64_t missing = 0, gaps = 0, duplicates = 0;
  for (const auto& [key, st] : seq_.streams()) {
    missing += st.missing_count();
    gaps += st.missing.size();
    duplicates += st.duplicates;
  }
  say("frames " + std::to_string(s.frames) + ", bytes " + std::to_string(s.bytes) + ", rejected " +
      std::to_string(s.rejected) + ", connections " + std::to_string(s.connections));
  say("streams " + std::to_string(seq_.streams().size()) + ": missing " + std::to_string(missing) +
      " in " + std::to_string(gaps) + " gap(s), duplicates " + std::to_string(duplicates) + " (" +
      std::to_string(s.dropped_duplicates) + " dropped)");
  for (const auto& [key, st] : seq_.streams()) {
    std::string line = "stream " + std::to_string(key.id) + " (vm " + key.vm + "): seq " +
                       (st.next > st.first ? range_text(st.first, st.next - 1) : "none") +
                       (st.resumed ? " (after the file's)" : "") + ", " +
                       std::to_string(st.frames) + " frame(s), missing " +
                       std::to_string(st.missing_count());
    size_t shown = 0;
    for (const auto& [from, to] : st.missing) {
      if (shown++ == 8) {
        line += ", ...";
        break;
      }
      line += (shown == 1 ? ": " : ", ") + range_text(from, to);
    }
    line += ", duplicates " + std::to_string(st.duplicates);
    if (st.late) line += ", late " + std::to_string(st.late);
    say(line);
  }
}

}  // namespace cellos::telemetry::recv
