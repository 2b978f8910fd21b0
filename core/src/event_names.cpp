#include "event_names.hpp"

namespace cellos::telemetry {
namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Words of word characters separated by single dots, at least min_words of them.
bool is_dotted(std::string_view s, size_t min_words) {
  if (s.empty() || s.size() > 63) return false;
  size_t words = 1;
  bool word_start = true;
  for (const char c : s) {
    if (c == '.') {
      if (word_start) return false;
      word_start = true;
      ++words;
    } else if (is_word_char(c)) {
      word_start = false;
    } else {
      return false;
    }
  }
  return !word_start && words >= min_words;
}

}  // namespace

bool is_event_name(std::string_view s) {
  return is_dotted(s, 2);
}

bool is_emits_entry(std::string_view s) {
  if (s.ends_with(".*")) return is_dotted(s.substr(0, s.size() - 2), 1);
  return is_event_name(s);
}

bool is_core_owned(std::string_view entry) {
  const std::string_view first = entry.substr(0, entry.find('.'));
  return first == "agent" || first == "telemetry";
}

bool covers(std::string_view entry, std::string_view name) {
  if (entry.ends_with(".*")) {
    entry.remove_suffix(1);  // keeps the dot: "a.*" covers "a.b", never "ab.c" nor "a"
    return name.size() > entry.size() && name.starts_with(entry);
  }
  return entry == name;
}

bool declared(const char* const* emits, std::string_view name) {
  for (size_t i = 0; emits != nullptr && emits[i] != nullptr; ++i) {
    if (covers(emits[i], name)) return true;
  }
  return false;
}

bool declared(std::span<const std::string_view> emits, std::string_view name) {
  for (const std::string_view entry : emits) {
    if (covers(entry, name)) return true;
  }
  return false;
}

std::vector<std::string_view> emits_of(const char* const* emits) {
  std::vector<std::string_view> out;
  for (size_t i = 0; emits != nullptr && emits[i] != nullptr; ++i) out.emplace_back(emits[i]);
  return out;
}

std::string join_emits(const char* const* emits) {
  std::string out;
  for (size_t i = 0; emits != nullptr && emits[i] != nullptr; ++i) {
    if (!out.empty()) out += ", ";
    out += emits[i];
  }
  return out;
}

}  // namespace cellos::telemetry
