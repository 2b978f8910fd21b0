#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "event.hpp"

namespace cellos::telemetry {

// fnmatch-style globs over probe_source ("*", "process.*", "agent.heartbeat").
class SourceMatcher {
 public:
  explicit SourceMatcher(std::vector<std::string> globs);
  // Takes the owned string: fnmatch needs it NUL-terminated, and routing must not allocate.
  bool matches(const std::string& source) const;

 private:
  std::vector<std::string> globs_;
  bool all_ = false;
};

// One sink's bounded queue. When full, the oldest event is dropped and counted: a slow or absent
// sink loses its own oldest events and never holds back a probe or another sink.
class SinkQueue {
 public:
  explicit SinkQueue(size_t capacity) : capacity_(capacity) {}

  void push(OwnedEvent e);
  bool empty() const { return events_.empty(); }
  size_t size() const { return events_.size(); }
  const OwnedEvent& at(size_t i) const { return events_[i]; }
  void pop(size_t n);
  // Everything queued is lost (the sink was disabled): counted as dropped, not reported.
  void discard_all();

  // Drops not yet reported to the sink, and all drops since start.
  uint64_t unreported_drops() const { return unreported_drops_; }
  uint64_t total_drops() const { return total_drops_; }
  uint64_t total_pushed() const { return total_pushed_; }
  uint64_t total_taken() const { return total_taken_; }  // handed to the sink and accepted
  void mark_drops_reported() { unreported_drops_ = 0; }

 private:
  size_t capacity_;
  std::deque<OwnedEvent> events_;
  uint64_t unreported_drops_ = 0;
  uint64_t total_drops_ = 0;
  uint64_t total_pushed_ = 0;
  uint64_t total_taken_ = 0;
};

}  // namespace cellos::telemetry
