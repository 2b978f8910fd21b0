// Connections in the order they last received anything, oldest first, to close those that
// stay silent too long. Touching one moves it to the back in O(1), so the next to expire is
// always the front: the event loop sleeps until that deadline (its epoll timeout) and never
// scans the peers or arms a timer per peer.
//
// The idle clock can be paused: while the receiver's own output is blocked it reads no socket,
// so a peer whose heartbeats wait unread must not be counted as silent.
#pragma once

#include <chrono>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace cellos::telemetry::recv {

class IdleList {
 public:
  using Clock = std::chrono::steady_clock;

  // timeout 0: nothing ever expires.
  explicit IdleList(std::chrono::seconds timeout) : timeout_(timeout) {}

  void add(int fd, Clock::time_point now);  // or touch, if present
  void touch(int fd, Clock::time_point now);
  void remove(int fd);

  // How long until the oldest expires (at least 0), or nullopt if nothing will.
  std::optional<Clock::duration> until_next(Clock::time_point now) const;
  // Removes and returns those that have been silent for the whole timeout, oldest first.
  std::vector<int> take_expired(Clock::time_point now);

  void pause(Clock::time_point now);
  void resume(Clock::time_point now);
  bool paused() const { return paused_; }
  std::chrono::seconds timeout() const { return timeout_; }

 private:
  // Real time minus the time spent paused: the clock idleness is measured on.
  Clock::time_point idle_now(Clock::time_point now) const;

  struct Entry {
    int fd;
    Clock::time_point last;  // on the idle clock
  };
  std::chrono::seconds timeout_;
  std::list<Entry> order_;  // oldest first
  std::unordered_map<int, std::list<Entry>::iterator> where_;
  bool paused_ = false;
  Clock::time_point paused_since_{};
  Clock::duration paused_total_{};
};

}  // namespace cellos::telemetry::recv
