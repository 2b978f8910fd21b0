#include "frame_buffer.hpp"

#include <cstring>
#include <stdexcept>

#include "frame_encoder.hpp"

namespace cellos::telemetry::wire {

FrameBuffer::FrameBuffer(size_t capacity)
    : capacity_(capacity), storage_(new uint8_t[2 * capacity]), storage_size_(2 * capacity) {
  if (capacity < 2 * kMaxFrameBytes) {
    throw std::invalid_argument("frame buffer capacity must hold two maximum-size frames");
  }
}

void FrameBuffer::compact() {
  std::memmove(storage_.get(), storage_.get() + head_, bytes());
  tail_ -= head_;
  head_ = 0;
}

std::span<const uint8_t> FrameBuffer::unsent() const {
  return {storage_.get() + head_ + sent_, bytes() - sent_};
}

void FrameBuffer::mark_sent(size_t n) {
  sent_ += n;
}

size_t FrameBuffer::frame_size_at(size_t offset) const {
  const uint8_t* p = storage_.get() + head_ + offset;
  return kLengthPrefixBytes +
         (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
}

size_t FrameBuffer::frames_sent() const {
  size_t n = 0;
  for (size_t offset = 0; offset < sent_; offset += frame_size_at(offset)) ++n;
  return n;
}

size_t FrameBuffer::release_consumed(size_t consumed) {
  if (consumed > sent_) consumed = sent_;
  if (consumed == bytes()) {
    // Everything held was consumed (the usual answer from a host that keeps up): every frame
    // goes, without walking their length prefixes through memory long since left behind.
    const size_t all = frames_;
    frames_ = 0;
    head_ = tail_ = sent_ = 0;
    return all;
  }
  size_t released = 0, dropped = 0;
  while (frames_ > 0) {
    const size_t frame = frame_size_at(released);
    if (released + frame > consumed) break;
    released += frame;
    --frames_;
    ++dropped;
  }
  head_ += released;
  sent_ -= released;
  if (head_ == tail_) head_ = tail_ = 0;
  return dropped;
}

}  // namespace cellos::telemetry::wire
