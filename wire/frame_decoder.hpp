// A strict decoder for the wire of design section 2, written apart from the encoder so that
// each checks the other. It accepts exactly what the host accepts, and says why it refuses:
// length at most 4096, major version 1, the five keys first and in order with their types,
// valid UTF-8, definite lengths, shortest-form integers, no floats, tags or simple values other
// than true and false (in extras only); extras of exactly the types ExtraValue lists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frame_limits.hpp"

namespace cellos::telemetry::wire {

// Keys beyond the five a frame may carry. The agent sends a handful; a 4 KiB body could hold
// about a thousand tiny ones, which would cost far more per byte than any real frame.
inline constexpr size_t kMaxExtras = 256;

// A value of a key beyond the five (ABI 2, wire revision 1.1): an unsigned integer, a negative
// integer, a boolean (simple values 20/21), text, or a list of text; nothing else.
struct ExtraValue {
  enum Type { kUnsigned, kNegative, kBool, kText, kTextList };
  Type type = kUnsigned;
  uint64_t number = 0;            // kUnsigned; kBool as 0 or 1
  int64_t negative = 0;           // kNegative: always < 0
  std::string text;               // kText
  std::vector<std::string> list;  // kTextList
};

struct Frame {
  uint16_t content_version = 0;
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::vector<std::pair<std::string, ExtraValue>> extras;  // in wire order
};

// What the start of a byte stream holds.
struct FrameSpan {
  enum Kind {
    kWhole,     // a whole frame of `size` bytes (prefix included) is there
    kNeedMore,  // not yet: `size` is how many bytes the frame needs, 0 if the prefix is short
    kBadLength  // the length prefix itself is refused: `error` says why
  };
  Kind kind = kNeedMore;
  size_t size = 0;
  std::string error;
};
FrameSpan next_frame(std::span<const uint8_t> stream);

// Decodes one body (the bytes after the length prefix). On refusal returns nullopt and sets
// *error to "<reason>: <detail>", the reason being one of: truncated, not a map, unsupported
// major version, key order, wrong type, invalid UTF-8, indefinite length, float, tag,
// non-shortest encoding, out of range, too many extras, duplicate key, trailing bytes,
// reserved encoding. Linear in the body's size: one pass, duplicate keys found by hashing.
std::optional<Frame> decode_body(std::span<const uint8_t> body, std::string* error);

// True when s is well-formed UTF-8 (RFC 3629).
bool valid_utf8(std::string_view s);

}  // namespace cellos::telemetry::wire
