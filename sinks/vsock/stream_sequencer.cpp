#include "stream_sequencer.hpp"

#include <algorithm>

namespace cellos::telemetry::wire {

void StreamSequencer::begin_run() {
  // push_back leaves references to the other runs valid; only popping the newest ends one.
  newest_ = &held_.emplace_back(Run{current_, next_seq_, 0, false});
}

void StreamSequencer::committed_hello(uint64_t stream_id) {
  current_ = stream_id;
  next_seq_ = 1;
  newest_ = &held_.emplace_back(Run{stream_id, 1, 0, true});
}

void StreamSequencer::released(size_t n) {
  while (n > 0 && !held_.empty()) {
    Run& r = held_.front();
    if (r.hello) {
      r.hello = false;
      --n;
    } else {
      const uint64_t k = std::min<uint64_t>(n, r.events);
      r.events -= k;
      r.first_seq += k;
      n -= k;
    }
    if (!r.hello && r.events == 0) {
      if (&r == newest_) newest_ = nullptr;
      held_.pop_front();
    }
  }
}

std::optional<HelloPoint> StreamSequencer::connection_hello() const {
  if (held_.empty()) return HelloPoint{current_, next_seq_};
  if (held_.front().hello) return std::nullopt;
  return HelloPoint{held_.front().stream_id, held_.front().first_seq};
}

size_t StreamSequencer::frames_held() const {
  size_t n = 0;
  for (const Run& r : held_) n += r.events + (r.hello ? 1 : 0);
  return n;
}

}  // namespace cellos::telemetry::wire
