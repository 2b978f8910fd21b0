#include "seq_tracker.hpp"

#include <iterator>

namespace cellos::telemetry::recv {

uint64_t StreamState::missing_count() const {
  uint64_t n = 0;
  for (const auto& [from, to] : missing) n += to - from + 1;
  return n;
}

Verdict SeqTracker::hello(const StreamKey& stream, uint64_t first_seq) {
  auto [it, fresh] = streams_.try_emplace(stream);
  StreamState& s = it->second;
  if (fresh) {
    s.first = s.next = first_seq;
    return {Verdict::kFirst};
  }
  if (first_seq <= s.next) return {Verdict::kInOrder};  // what follows may come again
  const Verdict gap{Verdict::kGap, s.next, first_seq - 1};
  s.missing.emplace(gap.from, gap.to);
  ++s.gaps;
  s.next = first_seq;
  return gap;
}

Verdict SeqTracker::frame(const StreamKey& stream, uint64_t seq) {
  auto [it, fresh] = streams_.try_emplace(stream);
  StreamState& s = it->second;
  if (fresh) {
    s.first = seq;
    s.next = seq + 1;
    s.frames = 1;
    return {Verdict::kFirst};
  }
  if (seq == s.next) {
    ++s.next;
    ++s.frames;
    return {Verdict::kInOrder};
  }
  if (seq > s.next) {
    const Verdict gap{Verdict::kGap, s.next, seq - 1};
    s.missing.emplace(gap.from, gap.to);
    ++s.gaps;
    s.next = seq + 1;
    ++s.frames;
    return gap;
  }
  // Below next: a gap filled late, or a duplicate.
  auto range = s.missing.upper_bound(seq);
  if (range != s.missing.begin()) {
    --range;
    const auto [from, to] = *range;
    if (seq <= to) {
      s.missing.erase(range);
      if (from < seq) s.missing.emplace(from, seq - 1);
      if (seq < to) s.missing.emplace(seq + 1, to);
      ++s.late;
      ++s.frames;
      return {Verdict::kLate};
    }
  }
  ++s.duplicates;
  return {Verdict::kDuplicate};
}

void SeqTracker::resume(const StreamKey& stream, uint64_t last_seq) {
  auto [it, fresh] = streams_.try_emplace(stream);
  if (!fresh) return;  // what this run saw itself is better
  it->second.first = it->second.next = last_seq + 1;
  it->second.resumed = true;
}

std::optional<StreamState> SeqTracker::get(const StreamKey& stream) const {
  const auto it = streams_.find(stream);
  if (it == streams_.end()) return std::nullopt;
  return it->second;
}

void SeqTracker::put(const StreamKey& stream, std::optional<StreamState> state) {
  if (state) {
    streams_[stream] = std::move(*state);
  } else {
    streams_.erase(stream);
  }
}

}  // namespace cellos::telemetry::recv
