// The sink's bounded output: whole frames, encoded, perhaps written to the current connection,
// kept until the peer has consumed them. Frames leave only from the front and only whole, so
// after a lost connection everything kept is sent again from a frame boundary: a frame may
// arrive twice, never cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "frame_limits.hpp"

namespace cellos::telemetry::wire {

class FrameBuffer {
 public:
  // Holds at most `capacity` bytes of frames (at least two maximum-size frames' worth).
  explicit FrameBuffer(size_t capacity);

  // Room for one frame of up to kMaxFrameBytes, or an empty span when the frames held leave
  // less than that within the capacity. Inline with commit: both are called for every frame.
  std::span<uint8_t> reserve() {
    if (!has_room()) return {};
    if (storage_size_ - tail_ < kMaxFrameBytes) compact();
    return {storage_.get() + tail_, kMaxFrameBytes};
  }
  // One whole frame of `frame_bytes` was written at the start of reserve()'s span.
  void commit(size_t frame_bytes) {
    tail_ += frame_bytes;
    ++frames_;
  }

  // Bytes not yet written to the current connection, and the write that took some of them.
  std::span<const uint8_t> unsent() const;
  void mark_sent(size_t n);

  // The peer has consumed at least the first `consumed` bytes written to this connection:
  // the frames wholly within them are dropped. Returns how many frames were dropped.
  size_t release_consumed(size_t consumed);
  // For transports that cannot tell what the peer consumed: written counts as delivered.
  size_t release_sent() { return release_consumed(sent_); }
  // The connection is gone: everything held goes again, from the first frame's first byte.
  void rewind() { sent_ = 0; }

  // Frames of which at least one byte was written to the current connection.
  size_t frames_sent() const;

  size_t bytes() const { return tail_ - head_; }
  bool has_room() const { return bytes() + kMaxFrameBytes <= capacity_; }
  size_t frames() const { return frames_; }
  size_t sent() const { return sent_; }
  bool empty() const { return frames_ == 0; }
  size_t capacity() const { return capacity_; }

 private:
  size_t frame_size_at(size_t offset) const;
  // Moves the frames held to the front of the storage.
  void compact();

  size_t capacity_;
  // Twice the capacity, so moving the live frames to the front happens at most once per
  // capacity's worth of appended bytes (amortised O(1) per byte). Left uninitialised: pages
  // become resident only when frames reach them (an emptied buffer starts again at the front).
  std::unique_ptr<uint8_t[]> storage_;
  size_t storage_size_;
  size_t head_ = 0, tail_ = 0;  // live frames are storage_[head_, tail_)
  size_t sent_ = 0;             // bytes from head_ written to the current connection
  size_t frames_ = 0;
};

}  // namespace cellos::telemetry::wire
