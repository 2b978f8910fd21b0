#include "idle_list.hpp"

#include <algorithm>

namespace cellos::telemetry::recv {

IdleList::Clock::time_point IdleList::idle_now(Clock::time_point now) const {
  return now - paused_total_ - (paused_ ? now - paused_since_ : Clock::duration{});
}

void IdleList::add(int fd, Clock::time_point now) {
  if (where_.contains(fd)) return touch(fd, now);
  order_.push_back({fd, idle_now(now)});
  where_[fd] = std::prev(order_.end());
}

void IdleList::touch(int fd, Clock::time_point now) {
  const auto it = where_.find(fd);
  if (it == where_.end()) return;
  it->second->last = idle_now(now);
  order_.splice(order_.end(), order_, it->second);
}

void IdleList::remove(int fd) {
  const auto it = where_.find(fd);
  if (it == where_.end()) return;
  order_.erase(it->second);
  where_.erase(it);
}

std::optional<IdleList::Clock::duration> IdleList::until_next(Clock::time_point now) const {
  if (timeout_.count() == 0 || paused_ || order_.empty()) return std::nullopt;
  return std::max(Clock::duration{}, order_.front().last + timeout_ - idle_now(now));
}

std::vector<int> IdleList::take_expired(Clock::time_point now) {
  std::vector<int> expired;
  if (timeout_.count() == 0 || paused_) return expired;
  const auto idle = idle_now(now);
  while (!order_.empty() && order_.front().last + timeout_ <= idle) {
    expired.push_back(order_.front().fd);
    where_.erase(order_.front().fd);
    order_.pop_front();
  }
  return expired;
}

void IdleList::pause(Clock::time_point now) {
  if (paused_) return;
  paused_ = true;
  paused_since_ = now;
}

void IdleList::resume(Clock::time_point now) {
  if (!paused_) return;
  paused_total_ += now - paused_since_;
  paused_ = false;
}

}  // namespace cellos::telemetry::recv
