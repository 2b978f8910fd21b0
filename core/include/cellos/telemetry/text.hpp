// Text as the wire and its readers need it, for the core and for any plugin: UTF-8 validation
// and repair (a comm set with prctl(PR_SET_NAME) can hold any bytes; the wire carries only valid
// text), JSON string escaping and console text escaping. Header-only, so nothing here is part of
// the plugin ABI.
//
// Both escapers print what a workload named into an operator's terminal, so neither lets through
// anything a terminal acts on instead of showing: C0 controls and DEL (ESC starts a sequence),
// C1 controls U+0080-U+009F (U+009B is CSI to the Linux console, U+0085 a new line, U+009D an
// OSC), the line and paragraph separators U+2028/U+2029, and the bidirectional controls U+061C,
// U+200E/U+200F, U+202A-U+202E and U+2066-U+2069 (they reorder what follows on the line). Bytes
// that are not UTF-8 are never passed through either: a lone 0x9B is CSI to an 8-bit console.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
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

// The code point of the well-formed sequence of length n at s[i].
inline uint32_t decode(std::string_view s, size_t i, size_t n) {
  const auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i + k])); };
  if (n == 1) return byte(0);
  uint32_t cp = byte(0) & (0x7Fu >> n);
  for (size_t k = 1; k < n; ++k) cp = cp << 6 | (byte(k) & 0x3F);
  return cp;
}

// True for the code points a terminal may act on rather than show (see the top of this file).
inline bool is_terminal_control(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

inline constexpr char kHex[] = "0123456789abcdef";

}  // namespace text_detail

// True when s is all ASCII, checked a word at a time; a short text as two overlapping words
// (loads never leave s): a comm is a few bytes, and a loop over them byte by byte was most of
// what building an event's record cost beside copying it (perf, bench/throughput).
inline bool is_ascii(std::string_view s) {
  const char* const p = s.data();
  const size_t n = s.size();
  const auto load = [p](auto word, size_t at) {
    std::memcpy(&word, p + at, sizeof word);
    return uint64_t{word};
  };
  uint64_t any = 0;
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) any |= load(uint64_t{}, i);
    any |= load(uint64_t{}, n - 8);
  } else if (n >= 4) {
    any = load(uint32_t{}, 0) | load(uint32_t{}, n - 4);
  } else {
    for (size_t i = 0; i < n; ++i) any |= static_cast<uint8_t>(p[i]);
  }
  return (any & 0x8080808080808080ull) == 0;
}

// True when s is well-formed UTF-8. Names, paths and arguments are nearly always ASCII: that is
// checked first, in words; otherwise eight bytes at a time until a byte with its high bit set,
// then sequence by sequence.
inline bool is_valid_utf8(std::string_view s) {
  if (is_ascii(s)) return true;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, s.data() + i, 8);
    if ((word & 0x8080808080808080ull) != 0) break;
  }
  while (i < s.size() && static_cast<uint8_t>(s[i]) < 0x80) ++i;
  size_t maximal = 0;
  while (i < s.size()) {
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

// Appends s as a JSON string (RFC 8259) that is also safe to print raw on a console: quote and
// backslash escaped, \n \r \t \b \f as such, every other terminal control (above) as \u00XX or
// \uXXXX, and each ill-formed UTF-8 sequence as \ufffd (so the line is always valid JSON). Other
// characters pass through as UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  using text_detail::kHex;
  out += '"';
  size_t maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = text_detail::sequence_length(s, i, &maximal);
    if (n == 0) {
      out += "\\ufffd";
      i += maximal;
      continue;
    }
    const uint32_t cp = text_detail::decode(s, i, n);
    switch (cp) {
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
        if (text_detail::is_terminal_control(cp)) {
          out += "\\u";
          for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
        } else {
          out.append(s.substr(i, n));
        }
    }
    i += n;
  }
  out += '"';
}

// Appends s for a person's console, unquoted: printable text (any script) passes through; a
// backslash is doubled; C0 controls and DEL become \xNN; other terminal controls (above) become
// \u{X...} with the code point in lower-case hex (U+009B: \u{9b}); bytes that are not UTF-8
// become \xNN each. So the output never holds a control, and it reads back unambiguously.
inline void append_console_text(std::string& out, std::string_view s) {
  using text_detail::kHex;
  const auto hex_byte = [&](uint8_t b) {
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  };
  size_t maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t n = text_detail::sequence_length(s, i, &maximal);
    if (n == 0) {
      for (size_t k = 0; k < maximal; ++k) hex_byte(static_cast<uint8_t>(s[i + k]));
      i += maximal;
      continue;
    }
    const uint32_t cp = text_detail::decode(s, i, n);
    if (cp == '\\') {
      out += "\\\\";
    } else if (cp < 0x20 || cp == 0x7F) {
      hex_byte(static_cast<uint8_t>(cp));
    } else if (text_detail::is_terminal_control(cp)) {
      out += "\\u{";
      bool digits = false;
      for (int shift = 20; shift >= 0; shift -= 4) {
        const uint32_t d = (cp >> shift) & 0xF;
        if (d != 0 || digits || shift == 0) {
          out += kHex[d];
          digits = true;
        }
      }
      out += '}';
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
}

}  // namespace cellos::telemetry
