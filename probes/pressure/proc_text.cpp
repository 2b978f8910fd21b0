#include "proc_text.hpp"

#include <limits>

namespace cellos::telemetry::pressure {

std::optional<uint64_t> parse_uint(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

std::optional<uint64_t> parse_hundredths(std::string_view text) {
  const size_t dot = text.find('.');
  const auto whole = parse_uint(text.substr(0, dot));
  if (!whole || *whole > std::numeric_limits<uint64_t>::max() / 100) return std::nullopt;
  uint64_t fraction = 0;
  if (dot != std::string_view::npos) {
    const std::string_view digits = text.substr(dot + 1);
    if (digits.empty() || digits.size() > 2) return std::nullopt;
    const auto f = parse_uint(digits);
    if (!f) return std::nullopt;
    fraction = digits.size() == 1 ? *f * 10 : *f;
  }
  if (*whole * 100 > std::numeric_limits<uint64_t>::max() - fraction) return std::nullopt;
  return *whole * 100 + fraction;
}

std::string_view next_word(std::string_view* rest) {
  const size_t start = rest->find_first_not_of(' ');
  if (start == std::string_view::npos) {
    *rest = {};
    return {};
  }
  rest->remove_prefix(start);
  const size_t end = rest->find(' ');
  const std::string_view word = rest->substr(0, end);
  rest->remove_prefix(end == std::string_view::npos ? rest->size() : end);
  return word;
}

std::optional<std::string_view> value_of(std::string_view words, std::string_view key) {
  for (std::string_view w = next_word(&words); !w.empty(); w = next_word(&words)) {
    if (w.size() > key.size() && w.starts_with(key) && w[key.size()] == '=') {
      return w.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> line_starting(std::string_view text, std::string_view prefix) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(prefix)) return line;
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace cellos::telemetry::pressure
