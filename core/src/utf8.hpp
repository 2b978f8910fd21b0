#pragma once

#include <string>
#include <string_view>

namespace cellos::telemetry {

// True when s is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, max U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Returns s with every ill-formed sequence replaced by U+FFFD, one replacement per maximal
// subpart (the Unicode "substitution of maximal subparts" practice). A comm set with
// prctl(PR_SET_NAME) can hold any bytes; the wire must carry valid text.
std::string repair_utf8(std::string_view s);

}  // namespace cellos::telemetry
