// One decoded frame as one JSON object on one line, keys as on the wire and in wire order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "frame_decoder.hpp"

namespace cellos::telemetry::recv {

// What the receiver knows about a frame beyond its bytes, written before the wire keys.
struct LineTags {
  std::string_view vm;                // "vm": the connection's label; omitted when empty
  std::optional<uint64_t> stream_id;  // "stream_id": from the connection's agent.hello;
                                      // omitted when unknown or the frame carries its own
};

// Appends the frame's line, newline included. Text is already valid UTF-8 (the decoder
// refuses anything else) and is passed through; quotes, backslashes and control characters
// are escaped.
void append_json_line(const wire::Frame& frame, std::string& out, const LineTags& tags = {});

}  // namespace cellos::telemetry::recv
