// The wire frame of design section 2: a u32 little-endian body length, then a definite CBOR map
// whose five keys come first and in order. Shared by the vsock sink, the receiver's tests and
// the benchmark, so all of them speak exactly the bytes the host expects.
#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cellos::telemetry::wire {

inline constexpr size_t kLengthPrefixBytes = 4;
inline constexpr size_t kMaxBodyBytes = 4096;  // the host rejects anything longer
inline constexpr size_t kMaxFrameBytes = kLengthPrefixBytes + kMaxBodyBytes;

// Major version in the high byte; the minor rises when keys beyond the five follow.
inline constexpr uint16_t kContentVersion = 0x0100;
inline constexpr uint16_t kContentVersionWithExtras = 0x0101;

// The five keys every body starts with, in wire order.
inline constexpr std::array<std::string_view, 5> kWireKeys = {
    "content_version", "probe_source", "guest_pid", "guest_comm", "guest_monotonic_ns"};

// Encodes e as one whole frame at the start of out and returns its size in bytes, or 0 when
// the body would exceed kMaxBodyBytes (such an event cannot be sent; out is then garbage).
// out must hold at least kMaxFrameBytes. Integers take their shortest form; text that is not
// valid UTF-8 is repaired (U+FFFD), never passed through; a null string counts as empty.
size_t encode_frame(const ct_event& e, std::span<uint8_t> out);

// The same, into a new string; empty when oversized. For tests and tools.
std::string encode_frame(const ct_event& e);

}  // namespace cellos::telemetry::wire
