#include "utf8_text.hpp"

#include <cstddef>
#include <cstdint>

namespace cellos::telemetry::wire {
namespace {

// Length of the well-formed sequence at s[i], or 0 when none starts there; then *maximal is
// how many bytes one U+FFFD replaces.
size_t sequence_length(std::string_view s, size_t i, size_t* maximal) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t lead = byte(i);
  *maximal = 1;
  if (lead < 0x80) return 1;
  size_t continuation = 0;
  uint8_t second_lo = 0x80, second_hi = 0xBF;  // the second byte's range depends on the lead
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2;
    if (lead == 0xE0) second_lo = 0xA0;  // overlong
    if (lead == 0xED) second_hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3;
    if (lead == 0xF0) second_lo = 0x90;  // overlong
    if (lead == 0xF4) second_hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k <= continuation; ++k) {
    if (i + k >= s.size()) return 0;
    const uint8_t b = byte(i + k);
    if (b < (k == 1 ? second_lo : 0x80) || b > (k == 1 ? second_hi : 0xBF)) return 0;
    *maximal = k + 1;
  }
  return continuation + 1;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  // Comm and probe_source are almost always ASCII: skip it a byte at a time without the table.
  while (i < s.size() && static_cast<uint8_t>(s[i]) < 0x80) ++i;
  size_t maximal = 0;
  while (i < s.size()) {
    const size_t n = sequence_length(s, i, &maximal);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  size_t maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_length(s, i, &maximal);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += maximal;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace cellos::telemetry::wire
