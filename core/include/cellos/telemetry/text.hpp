// Text as the wire and its readers need it, for the core and for any plugin: UTF-8 validation
// and repair (a comm set with prctl(PR_SET_NAME) can hold any bytes; the wire carries only valid
// text), and JSON string escaping. Header-only, so nothing here is part of the plugin ABI.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cellos::telemetry {
namespace text_detail {

// Length of the well-formed sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF)
// starting at s[i], or 0 when none starts there; then *maximal is the length of the maximal
// subpart that one U+FFFD replaces (Unicode's "substitution of maximal subparts").
inline size_t sequence_length(std::string_view s, size_t i, size_t* maximal) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = byte(i);
  *maximal = 1;
  if (c < 0x80) return 1;
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const uint8_t x = byte(i + k);
    if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xBF)) return 0;
    *maximal = k + 1;
  }
  return need + 1;
}

}  // namespace text_detail

// True when s is well-formed UTF-8.
inline bool is_valid_utf8(std::string_view s) {
  size_t maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = text_detail::sequence_length(s, i, &maximal);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// s with every ill-formed sequence replaced by U+FFFD, one per maximal subpart.
inline std::string repair_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = text_detail::sequence_length(s, i, &maximal);
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

// Appends s as a JSON string (RFC 8259): quote, backslash and control characters (and DEL)
// escaped; other bytes pass through, so s should already be valid UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace cellos::telemetry
