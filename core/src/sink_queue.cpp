#include "sink_queue.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace cellos::telemetry {

SourceMatcher::SourceMatcher(std::vector<std::string> globs) : globs_(std::move(globs)) {
  all_ = std::find(globs_.begin(), globs_.end(), "*") != globs_.end();
}

bool SourceMatcher::matches(const std::string& source) const {
  if (all_) return true;
  return std::any_of(globs_.begin(), globs_.end(), [&](const std::string& g) {
    return fnmatch(g.c_str(), source.c_str(), 0) == 0;
  });
}

void SinkQueue::push(OwnedEvent e) {
  ++total_pushed_;
  if (capacity_ == 0) {
    ++unreported_drops_;
    ++total_drops_;
    return;
  }
  if (events_.size() >= capacity_) {
    events_.pop_front();
    ++unreported_drops_;
    ++total_drops_;
  }
  events_.push_back(std::move(e));
}

void SinkQueue::pop(size_t n) {
  n = std::min(n, events_.size());
  total_taken_ += n;
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(n));
}

void SinkQueue::discard_all() {
  total_drops_ += events_.size();
  events_.clear();
}

}  // namespace cellos::telemetry
