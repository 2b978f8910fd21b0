// Completeness of each agent's stream, from the `seq` every frame carries (consecutive from 1
// per stream_id, kept when a frame is sent again after a reconnect) and the `first_seq` of the
// agent.hello that opens each connection. A seq beyond the next expected one is a gap (frames
// lost in transport, with the missing range); one below it is a duplicate (sent again after a
// receiver died between printing and consuming it) unless it fills a gap (late).
//
// A stream is keyed by its VM's label and its stream_id: a stream_id repeated on another VM (two
// clones of one snapshot, before the agent saw the generation change) must never make one VM's
// frames count as the other's duplicates.
//
// Kept compactly: per stream, everything below `next` arrived except the `missing` ranges, so a
// stream costs a few words however long it runs. States can be read and put back whole, for
// the receiver to undo what a batch of frames did when only part of the batch was written.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace cellos::telemetry::recv {

struct StreamKey {
  std::string vm;   // the label of the listener
  uint64_t id = 0;  // the agent's stream_id
  auto operator<=>(const StreamKey&) const = default;
};

struct StreamState {
  uint64_t first = 0;                    // the first seq this receiver counted from
  uint64_t next = 0;                     // one past the highest seq seen
  std::map<uint64_t, uint64_t> missing;  // first -> last seq of each range not (yet) seen
  uint64_t frames = 0;                   // distinct frames seen
  uint64_t gaps = 0;                     // ranges found missing (some may have been filled)
  uint64_t duplicates = 0;
  uint64_t late = 0;     // frames that filled a gap
  bool resumed = false;  // `next` came from the VM's file in --out-dir

  uint64_t missing_count() const;
};

struct Verdict {
  enum Kind { kFirst, kInOrder, kGap, kDuplicate, kLate };
  Kind kind = kInOrder;
  uint64_t from = 0, to = 0;  // kGap: the missing range, inclusive
};

class SeqTracker {
 public:
  // A connection's agent.hello: its next frame has first_seq. A stream seen for the first time
  // starts there (earlier frames went to an earlier receiver); a known one whose next expected
  // seq is below first_seq has a gap.
  Verdict hello(const StreamKey& stream, uint64_t first_seq);
  Verdict frame(const StreamKey& stream, uint64_t seq);
  // What the VM's file already holds: every seq up to last_seq was written by an earlier run.
  void resume(const StreamKey& stream, uint64_t last_seq);

  std::optional<StreamState> get(const StreamKey& stream) const;
  void put(const StreamKey& stream, std::optional<StreamState> state);  // nullopt: forget it
  const std::map<StreamKey, StreamState>& streams() const { return streams_; }

 private:
  std::map<StreamKey, StreamState> streams_;
};

}  // namespace cellos::telemetry::recv
