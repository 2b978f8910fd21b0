// The frame's size limits, which the encoder and the decoder share because the host enforces
// them (design section 2): a 4-byte little-endian length, then a CBOR body of at most 4096 bytes.
#pragma once

#include <cstddef>

namespace cellos::telemetry::wire {

inline constexpr size_t kLengthPrefixBytes = 4;
inline constexpr size_t kMaxBodyBytes = 4096;  // the host rejects anything longer
inline constexpr size_t kMaxFrameBytes = kLengthPrefixBytes + kMaxBodyBytes;

}  // namespace cellos::telemetry::wire
