#include "frame_counter.hpp"

#include <cstring>
#include <string>
#include <string_view>

#include "frame_decoder.hpp"
#include "frame_limits.hpp"

namespace cellos::telemetry::bench {
namespace {

// Body: map head (1), "content_version" (16), its value 0x0100 or 0x0101 (3), "probe_source"
// (13), then probe_source as text: its head at 33.
constexpr size_t kSourceAt = 1 + 16 + 3 + 13;

// The probe_source of a body, without decoding it (empty if it is not where expected).
std::string_view source_of(const uint8_t* body, size_t size) {
  if (size <= kSourceAt) return {};
  const uint8_t head = body[kSourceAt];
  if (head < 0x60 || head > 0x77) return {};  // names are at most 63 bytes: 0x78 is not used
  const size_t len = head - 0x60u;
  if (size < kSourceAt + 1 + len) return {};
  return {reinterpret_cast<const char*>(body) + kSourceAt + 1, len};
}

}  // namespace

void FrameCounter::feed(const uint8_t* data, size_t n) {
  carry_.insert(carry_.end(), data, data + n);
  size_t at = 0;
  while (carry_.size() - at >= wire::kLengthPrefixBytes) {
    const uint8_t* p = carry_.data() + at;
    const size_t size = wire::kLengthPrefixBytes + (uint32_t{p[0]} | uint32_t{p[1]} << 8 |
                                                    uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
    if (carry_.size() - at < size) break;
    frame(p + wire::kLengthPrefixBytes, size - wire::kLengthPrefixBytes);
    at += size;
    bytes_ += size;
  }
  carry_.erase(carry_.begin(), carry_.begin() + static_cast<long>(at));
}

void FrameCounter::frame(const uint8_t* body, size_t size) {
  const std::string_view source = source_of(body, size);
  if (source == "telemetry.dropped") {
    std::string error;
    if (const auto f = wire::decode_body({body, size}, &error)) {
      for (const auto& [key, value] : f->extras) {
        if (key == "dropped_count") dropped_ += value.number;
      }
    }
    ++reports_;
  } else if (!source.starts_with("agent.")) {
    ++events_;
  }
}

}  // namespace cellos::telemetry::bench
