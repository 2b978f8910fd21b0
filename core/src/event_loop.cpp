#include "event_loop.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace cellos::telemetry {

EventLoop::EventLoop() : epoll_(epoll_create1(EPOLL_CLOEXEC)) {
  if (!epoll_) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

int EventLoop::watch(int fd, uint32_t events, Handler handler) {
  auto it = entries_.find(fd);
  const bool exists = it != entries_.end();
  const uint64_t id = exists ? it->second.id : next_id_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = id;
  if (epoll_ctl(epoll_.get(), exists ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0) return -errno;
  entries_[fd] = Entry{id, std::move(handler)};
  fd_of_id_[id] = fd;
  return 0;
}

int EventLoop::unwatch(int fd) {
  auto it = entries_.find(fd);
  if (it == entries_.end()) return -ENOENT;
  fd_of_id_.erase(it->second.id);
  entries_.erase(it);
  // The fd may already be closed by its owner; the entry is gone either way.
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  return 0;
}

int EventLoop::run_once(int timeout_ms) {
  epoll_event events[64];
  const int n = epoll_wait(epoll_.get(), events, 64, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    throw std::system_error(errno, std::generic_category(), "epoll_wait");
  }
  // Look each id up when its turn comes: an earlier handler may have removed this entry.
  int ran = 0;
  for (int i = 0; i < n; ++i) {
    const auto id = fd_of_id_.find(events[i].data.u64);
    if (id == fd_of_id_.end()) continue;
    Handler h = entries_.at(id->second).handler;  // the handler may unwatch itself while running
    h(events[i].events);
    ++ran;
  }
  return ran;
}

UniqueFd make_timer_fd() {
  UniqueFd fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "timerfd_create");
  return fd;
}

int arm_timer_fd(int fd, uint64_t first_ns, uint64_t interval_ns) {
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(first_ns / 1000000000u);
  spec.it_value.tv_nsec = static_cast<long>(first_ns % 1000000000u);
  spec.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1000000000u);
  spec.it_interval.tv_nsec = static_cast<long>(interval_ns % 1000000000u);
  return timerfd_settime(fd, 0, &spec, nullptr) == 0 ? 0 : -errno;
}

void drain_timer_fd(int fd) {
  uint64_t expirations = 0;
  [[maybe_unused]] const ssize_t r = read(fd, &expirations, sizeof expirations);
}

}  // namespace cellos::telemetry
