#pragma once

#include <cstdint>
#include <functional>
#include <unordered_map>

#include <cellos/telemetry/unique_fd.hpp>

namespace cellos::telemetry {

// One thread, one epoll set. Handlers run on the loop thread; removing a handler (even its own)
// from inside a handler is safe: an event already fetched for it is then skipped.
class EventLoop {
 public:
  using Handler = std::function<void(uint32_t events)>;

  EventLoop();
  // Adds fd, or changes its interest and handler if already present. 0 or -errno.
  int watch(int fd, uint32_t events, Handler handler);
  int unwatch(int fd);
  // Waits up to timeout_ms (-1: forever) and runs the handlers of ready fds. Returns how many ran.
  int run_once(int timeout_ms);

 private:
  struct Entry {
    uint64_t id = 0;
    Handler handler;
  };
  UniqueFd epoll_;
  uint64_t next_id_ = 1;
  std::unordered_map<int, Entry> entries_;
  std::unordered_map<uint64_t, int> fd_of_id_;
};

// A CLOCK_MONOTONIC timerfd. first_ns = 0 disarms.
UniqueFd make_timer_fd();
int arm_timer_fd(int fd, uint64_t first_ns, uint64_t interval_ns);
// Reads the expiry count so a level-triggered timerfd stops being readable.
void drain_timer_fd(int fd);

}  // namespace cellos::telemetry
