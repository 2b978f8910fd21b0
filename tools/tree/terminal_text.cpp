#include "terminal_text.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>

namespace cellos::telemetry::tree {
namespace {

// One UTF-8 sequence at s[i]: its code point and length, or nullopt for an invalid byte
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
std::optional<std::pair<char32_t, size_t>> decode(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return std::pair{char32_t{c}, size_t{1}};
  size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (len == 0 || c > 0xf4 || i + len > s.size()) return std::nullopt;
  char32_t cp = c & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)) {
    return std::nullopt;
  }
  return std::pair{cp, len};
}

// Code points a terminal would act on rather than show: C0 and C1 controls, DEL, and the
// bidirectional controls that reorder what follows (and the line and paragraph separators).
bool unprintable(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Characters a shell takes literally outside quotes.
bool plain(char32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
         cp == '_' || cp == '@' || cp == '%' || cp == '+' || cp == '=' || cp == ':' || cp == ',' ||
         cp == '.' || cp == '/' || cp == '-';
}

struct Scan {
  bool needs_escapes = false;  // unprintable or invalid: only $'...' shows it
  bool needs_quotes = false;   // printable but not plain
  bool has_single_quote = false;
};

Scan scan(std::string_view s) {
  Scan r;
  for (size_t i = 0; i < s.size();) {
    auto d = decode(s, i);
    if (!d) {
      r.needs_escapes = true;
      ++i;
      continue;
    }
    if (unprintable(d->first)) r.needs_escapes = true;
    if (!plain(d->first)) r.needs_quotes = true;
    if (d->first == '\'') r.has_single_quote = true;
    i += d->second;
  }
  return r;
}

std::string hex_escape(const char* fmt, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, fmt, value);
  return buf;
}

// bash's $'...' quoting.
std::string ansi_c_quoted(std::string_view s) {
  std::string out = "$'";
  for (size_t i = 0; i < s.size();) {
    auto d = decode(s, i);
    if (!d) {
      out += hex_escape("\\x%02x", static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    char32_t cp = d->first;
    switch (cp) {
      case 0x1b:
        out += "\\e";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\'':
        out += "\\'";
        break;
      default:
        if (cp < 0x80 && unprintable(cp)) {
          out += hex_escape("\\x%02x", static_cast<unsigned>(cp));
        } else if (unprintable(cp)) {
          out += hex_escape("\\u%04x", static_cast<unsigned>(cp));
        } else {
          out.append(s.substr(i, d->second));
        }
    }
    i += d->second;
  }
  out += '\'';
  return out;
}

}  // namespace

std::string quote_argument(std::string_view arg) {
  if (arg.empty()) return "''";
  Scan s = scan(arg);
  if (s.needs_escapes || s.has_single_quote) return ansi_c_quoted(arg);
  if (s.needs_quotes) return "'" + std::string(arg) + "'";
  return std::string(arg);
}

std::string quote_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += quote_argument(a);
  }
  return out;
}

std::string safe_name(std::string_view name) {
  return scan(name).needs_escapes ? ansi_c_quoted(name) : std::string(name);
}

}  // namespace cellos::telemetry::tree
