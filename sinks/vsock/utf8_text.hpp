// UTF-8 checks for text that goes on the wire. The core already repairs guest_comm, but the
// encoder is also reached by tests, the benchmark and any future caller: it must never emit
// invalid text, whatever it is handed.
#pragma once

#include <string>
#include <string_view>

namespace cellos::telemetry::wire {

// True when s is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// s with each ill-formed sequence replaced by U+FFFD (one per maximal subpart, as Unicode
// recommends), so the same bytes repair the same way here and in the core.
std::string repair_utf8(std::string_view s);

}  // namespace cellos::telemetry::wire
