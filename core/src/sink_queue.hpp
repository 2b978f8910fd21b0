#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "event.hpp"
#include "event_record.hpp"

namespace cellos::telemetry {

// fnmatch-style globs over probe_source ("*", "process.*", "agent.heartbeat").
class SourceMatcher {
 public:
  explicit SourceMatcher(std::vector<std::string> globs);
  // NUL-terminated, as fnmatch needs it: routing must not copy the name to ask.
  bool matches(const char* source) const { return all_ || matches_a_glob(source); }

 private:
  bool matches_a_glob(const char* source) const;
  std::vector<std::string> globs_;
  bool all_ = false;
};

// One sink's bounded queue. When full, the oldest event is dropped and counted: a slow or absent
// sink loses its own oldest events and never holds back a probe or another sink.
//
// Full means either limit: `capacity` events or `capacity_bytes` bytes of memory. Events are kept
// as records (event_record.hpp) in one ring of capacity_bytes mapped for the queue alone, so the
// memory a stalled sink costs is what the operator configured, whatever the events hold: the
// ring is reserved address space, and only the pages records were written to are resident.
// When a backlog has drained, those pages are given back to the system (MADV_DONTNEED) at once,
// rather than kept by the allocator; the first kKeepBytes stay, the working set of a sink that
// keeps up, and a backlog of at most kGiveBackAboveBytes keeps its pages (bursts of that size
// come and go many times a second under load: giving them back each time costs page faults).
// An event whose record alone is larger than the ring is dropped (and counted).
class SinkQueue {
 public:
  static constexpr size_t kDefaultBytes = 1 << 20;
  static constexpr size_t kKeepBytes = 64 * 1024;
  static constexpr size_t kGiveBackAboveBytes = 2 * kKeepBytes;

  explicit SinkQueue(size_t capacity, size_t capacity_bytes = kDefaultBytes);
  ~SinkQueue();
  SinkQueue(const SinkQueue&) = delete;
  SinkQueue& operator=(const SinkQueue&) = delete;

  // Copies e (checked: check_event) into the queue, comm and texts repaired to valid UTF-8.
  // Returns the record as queued (valid until it is popped or dropped), or nullptr when the
  // event itself was dropped (capacity 0, or larger than the ring).
  const RecordHeader* push(const ct_event& e);
  // The same, built by the caller's builder (the bus's: one for every queue), with the lengths
  // of its texts if the caller has them.
  const RecordHeader* push(const ct_event& e, RecordBuilder& builder,
                           const TextLengths* known = nullptr);
  // A record built once for several queues (the bus routing one event to many sinks).
  const RecordHeader* push(const RecordHeader& record);
  void push(const OwnedEvent& e);

  bool empty() const { return count_ == 0; }
  size_t size() const { return count_; }
  // The i-th event from the front: walks the queue, for tests and diagnostics.
  const ct_event& at(size_t i) const;
  // Fills out with the first events (at most out.size()); returns how many. Each stays valid
  // until it is popped or dropped. A pop of as many right after (pushes without drops between
  // allowed) does not walk them again.
  size_t front(std::span<const ct_event*> out) const;
  void pop(size_t n);
  // Everything queued is lost (the sink was disabled): counted as dropped, not reported.
  void discard_all();

  // Bytes of records held, and of the ring they are in (including the end of the ring a record
  // did not fit in, until the records before it go): at most capacity_bytes.
  size_t bytes() const { return wrapped_ ? ring_size_ - head_ + tail_ : tail_ - head_; }
  size_t capacity_bytes() const { return ring_size_; }
  size_t capacity() const { return capacity_; }  // events

  // Drops not yet reported to the sink, and all drops since start.
  uint64_t unreported_drops() const { return unreported_drops_; }
  uint64_t total_drops() const { return total_drops_; }
  uint64_t total_pushed() const { return total_pushed_; }
  uint64_t total_taken() const { return total_taken_; }  // handed to the sink and accepted
  void mark_drops_reported() { unreported_drops_ = 0; }

 private:
  const RecordHeader& record_at(size_t offset) const;
  // Counts a push and makes room for a record of `size` bytes, dropping the oldest as needed;
  // nullptr when the record is dropped itself.
  char* make_room(size_t size);
  // Takes `size` bytes of the free part of the ring for a record, if they fit there in one piece.
  bool place(size_t size, size_t* offset);
  void drop_front();
  void pop_front();
  // The head moves on by `bytes`; at the end of a wrapped ring's older part, to its start.
  void advance_head(size_t bytes);
  void wrap_head();
  void reset_if_empty();

  size_t capacity_;
  RecordBuilder builder_;
  char* ring_ = nullptr;
  size_t ring_size_ = 0;
  // Records live in [head_, end_) and then, once the ring has wrapped, in [0, tail_); before it
  // has, in [head_, tail_) with end_ == tail_.
  size_t head_ = 0, tail_ = 0, end_ = 0;
  bool wrapped_ = false;
  size_t count_ = 0;
  size_t touched_ = 0;  // highest offset written since the pages were last given back
  uint64_t unreported_drops_ = 0;
  uint64_t total_drops_ = 0;
  uint64_t total_pushed_ = 0;
  uint64_t total_taken_ = 0;
  // Where front()'s walk ended: the offset after its records (0 if it passed the ring's end,
  // then passed = true), and how many; until a pop or a drop (a push that drops nothing moves
  // no record it walked).
  struct Walk {
    size_t n = 0, offset = 0;
    bool passed_end = false, valid = false;
  };
  mutable Walk walk_;
};

}  // namespace cellos::telemetry
