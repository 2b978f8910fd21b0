// One decoded frame as one JSON object on one line, keys as on the wire and in wire order.
#pragma once

#include <string>

#include "frame_decoder.hpp"

namespace cellos::telemetry::recv {

// Appends the frame's line, newline included. Text is already valid UTF-8 (the decoder
// refuses anything else) and is passed through; quotes, backslashes and control characters
// are escaped.
void append_json_line(const wire::Frame& frame, std::string& out);

}  // namespace cellos::telemetry::recv
