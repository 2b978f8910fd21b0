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

#include "frame_limits.hpp"

namespace cellos::telemetry::wire {

// Major version in the high byte. A frame with only the five keys is 1.0; a frame with extras
// carries the minor of the wire revision this encoder implements (README: "Wire revisions"):
// 1 = typed extras (unsigned, negative, boolean, text, list of text) and extras_truncated.
inline constexpr uint16_t kContentVersion = 0x0100;
inline constexpr uint16_t kContentVersionWithExtras = 0x0101;

// Appended (as `true`, last) to a frame whose extras were cut to fit kMaxBodyBytes.
inline constexpr std::string_view kExtrasTruncatedKey = "extras_truncated";

// The five keys every body starts with, in wire order.
inline constexpr std::array<std::string_view, 5> kWireKeys = {
    "content_version", "probe_source", "guest_pid", "guest_comm", "guest_monotonic_ns"};

// Encodes e as one whole frame at the start of out and returns its size in bytes. out must hold
// at least kMaxFrameBytes. Integers take their shortest form; text that is not valid UTF-8 is
// repaired (U+FFFD), never passed through; a null string counts as empty. Extras follow the
// five keys in the event's order; one of a type this encoder does not know (or with a null
// key) is skipped. When the body would exceed kMaxBodyBytes, the extras are cut until it fits:
// items are dropped from the end of text lists (the last list first), then whole extras from
// the end, and `extras_truncated: true` is appended; *truncated (if given) is then set. Returns
// 0 only when even the five keys and that flag do not fit (a probe_source or comm far beyond
// what the core lets through); out is then garbage.
size_t encode_frame(const ct_event& e, std::span<uint8_t> out, bool* truncated = nullptr);

// The same with `seq` first after the five keys: the frame's number in its stream (the vsock
// sink's, consecutive from 1 per stream_id; sinks/vsock/README.md, "Streams"). It is never cut
// to fit, and an extra of the event also named seq is skipped (the core refuses one anyway).
inline constexpr std::string_view kSeqKey = "seq";
size_t encode_frame(const ct_event& e, uint64_t seq, std::span<uint8_t> out,
                    bool* truncated = nullptr);

// The same, into a new string; empty when oversized. For tests and tools.
std::string encode_frame(const ct_event& e);
std::string encode_frame(const ct_event& e, uint64_t seq);

}  // namespace cellos::telemetry::wire
