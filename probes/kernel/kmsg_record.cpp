#include "kmsg_record.hpp"

#include <charconv>

namespace cellos::telemetry::kernel {
namespace {

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// The next comma-separated field of the prefix, consumed from s.
std::string_view next_field(std::string_view& s) {
  const size_t comma = s.find(',');
  const std::string_view f = s.substr(0, comma);
  s.remove_prefix(comma == std::string_view::npos ? s.size() : comma + 1);
  return f;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte of a \xNN escape at s[i], or -1.
int escape_at(std::string_view s, size_t i) {
  if (i + 4 > s.size() || s[i] != '\\' || s[i + 1] != 'x') return -1;
  const int hi = hex_digit(s[i + 2]), lo = hex_digit(s[i + 3]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

std::optional<KmsgRecord> parse_kmsg_record(std::string_view read) {
  const size_t semi = read.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  std::string_view prefix = read.substr(0, semi);
  KmsgRecord r;
  const auto pri = number<uint32_t>(next_field(prefix));
  const auto seq = number<uint64_t>(next_field(prefix));
  const auto ts = number<uint64_t>(next_field(prefix));
  const std::string_view flags = next_field(prefix);
  if (!pri || !seq || !ts || flags.size() != 1) return std::nullopt;
  r.level = *pri & 7;
  r.facility = *pri >> 3;
  r.seq = *seq;
  r.ts_usec = *ts;
  r.flags = flags[0];
  while (!prefix.empty()) {
    const std::string_view f = next_field(prefix);
    if (f.size() > 8 && f.substr(0, 8) == "caller=T") r.caller_tid = number<uint32_t>(f.substr(8));
  }
  std::string_view rest = read.substr(semi + 1);
  const size_t nl = rest.find('\n');
  r.message = rest.substr(0, nl);
  rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  while (!rest.empty()) {
    const size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (line.empty() || line[0] != ' ') continue;  // not a continuation line: not the format
    line.remove_prefix(1);
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || r.dict.size() >= kMaxDictEntries) continue;
    r.dict.emplace_back(line.substr(0, eq), line.substr(eq + 1));
  }
  return r;
}

std::string unescape_kmsg(std::string_view escaped) {
  std::string out;
  out.reserve(escaped.size());
  for (size_t i = 0; i < escaped.size();) {
    const int byte = escape_at(escaped, i);
    if (byte > 0) {
      out.push_back(static_cast<char>(byte));
      i += 4;
    } else {
      out.push_back(escaped[i++]);
    }
  }
  return out;
}

std::string_view bounded_kmsg_text(std::string_view escaped, size_t max_bytes) {
  if (escaped.size() <= max_bytes) return escaped;
  size_t n = max_bytes;
  // An escape starting in the last three bytes kept would be cut: end before it.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    if (escape_at(escaped, n - back) >= 0) {
      n -= back;
      break;
    }
  }
  return escaped.substr(0, n);
}

}  // namespace cellos::telemetry::kernel
