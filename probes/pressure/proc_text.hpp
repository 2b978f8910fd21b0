// Numbers out of procfs text, without floats: the wire has none, so a figure the kernel prints
// as "92.11" travels as 9211 hundredths. The kernel prints these files with fixed formats
// (seq_printf with "%lu.%02lu" and "%llu"), so a strict reader is right: anything else is not
// the file we think it is, and the caller reports it rather than guessing.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cellos::telemetry::pressure {

// "123" -> 123. Digits only, no sign, no space; nullopt on anything else or on overflow.
std::optional<uint64_t> parse_uint(std::string_view text);

// "92.11" -> 9211, "3" -> 300, "0.5" -> 50. At most two digits after the point (the kernel
// prints exactly two); nullopt on anything else or on overflow.
std::optional<uint64_t> parse_hundredths(std::string_view text);

// The value of `key=` among space-separated key=value words ("avg10=1.00 total=5"), or nullopt.
std::optional<std::string_view> value_of(std::string_view words, std::string_view key);

// The line of text that starts with `prefix` (e.g. "MemTotal:" in /proc/meminfo), without its
// newline, or nullopt.
std::optional<std::string_view> line_starting(std::string_view text, std::string_view prefix);

// Splits off the first space-separated word of *rest (leading spaces skipped); "" at the end.
std::string_view next_word(std::string_view* rest);

}  // namespace cellos::telemetry::pressure
