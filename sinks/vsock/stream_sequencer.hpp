// Numbers the frames of the vsock sink's streams, and knows what the frames it holds are.
//
// The contract (README.md, "Streams"): every event frame gets `seq`, consecutive from 1 per
// stream_id; a frame sent again after a lost connection is the same bytes, so it keeps its seq.
// Every connection starts with an agent.hello frame saying which stream the frames after it
// belong to and the seq of the first of them (first_seq). A new stream begins where the core
// offers agent.restored (a new VM generation): that event is seq 1 of the new stream, and an
// agent.hello for the new stream goes before it, in the buffer, so that on whatever connection
// the frames travel, each one follows a hello of its own stream.
//
// The sequencer does no I/O: the sink tells it what it committed to and released from its
// FrameBuffer, in the same order, and asks it which hello a new connection needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

namespace cellos::telemetry::wire {

struct HelloPoint {
  uint64_t stream_id;
  uint64_t first_seq;
};

class StreamSequencer {
 public:
  explicit StreamSequencer(uint64_t stream_id) : current_(stream_id) {}
  // It points into its own runs.
  StreamSequencer(const StreamSequencer&) = delete;
  StreamSequencer& operator=(const StreamSequencer&) = delete;

  uint64_t stream_id() const { return current_; }
  // The seq the next event frame gets.
  uint64_t next_seq() const { return next_seq_; }
  // An event frame numbered next_seq() was committed to the buffer. Inline, and the newest run
  // kept by pointer: it is called for every frame (a deque's back() walks its node map).
  void committed_event() {
    if (newest_ == nullptr || newest_->stream_id != current_) begin_run();
    ++newest_->events;
    ++next_seq_;
  }
  // A new stream begins: its hello frame was committed to the buffer; the next event is seq 1.
  void committed_hello(uint64_t stream_id);

  // The first n frames held were released (the host consumed them).
  void released(size_t n);

  // The hello a new connection starts with, or nullopt when the first frame held is itself a
  // hello (the start of a stream): then the connection starts with that one.
  std::optional<HelloPoint> connection_hello() const;

  // Frames held, hellos included: always equal to the FrameBuffer's frames().
  size_t frames_held() const;

 private:
  // A run of held frames of one stream, oldest first: perhaps its hello, then `events`
  // event frames numbered from first_seq.
  struct Run {
    uint64_t stream_id;
    uint64_t first_seq;
    uint64_t events;
    bool hello;
  };
  void begin_run();

  std::deque<Run> held_;
  Run* newest_ = nullptr;  // held_.back(), or nullptr when held_ is empty
  uint64_t current_;
  uint64_t next_seq_ = 1;
};

}  // namespace cellos::telemetry::wire
