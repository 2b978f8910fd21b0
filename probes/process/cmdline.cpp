#include "cmdline.hpp"

#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/text.hpp>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace cellos::telemetry::process {
namespace {

// The longest prefix of valid UTF-8 s of at most max bytes that does not split a character.
size_t char_boundary(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

bool bounded_text(std::string_view s, size_t max, std::string& out) {
  out.clear();
  if (is_valid_utf8(s)) {
    const size_t n = char_boundary(s, max);
    out.assign(s.substr(0, n));
    return n < s.size();
  }
  const std::string repaired = repair_utf8(s);  // rare: only for bytes that are not UTF-8
  const size_t n = char_boundary(repaired, max);
  out.assign(repaired, 0, n);
  return n < repaired.size();
}

void split_cmdline(std::string_view raw, size_t max_bytes, ExecContext& out) {
  out.argv.clear();
  out.args_.clear();
  out.argv_truncated = false;
  // Spans into args_, turned into views once args_ stops growing.
  std::vector<std::pair<size_t, size_t>>& spans = out.spans_;
  spans.clear();
  size_t budget = max_bytes;
  std::string repaired;
  while (!raw.empty()) {
    const size_t nul = raw.find('\0');
    std::string_view item = raw.substr(0, nul);
    raw.remove_prefix(nul == std::string_view::npos ? raw.size() : nul + 1);
    if (spans.size() == CT_MAX_LIST_ITEMS || budget == 0) {
      out.argv_truncated = true;
      break;
    }
    // Room for the item's text: its NUL counts, as in cmdline; never more than a text may hold.
    const size_t room = std::min<size_t>(budget - 1, CT_MAX_TEXT_BYTES);
    const bool cut = bounded_text(item, room, repaired);
    if (cut && repaired.empty()) {  // not even a character of it fits: no empty stand-in
      out.argv_truncated = true;
      break;
    }
    spans.emplace_back(out.args_.size(), repaired.size());
    out.args_ += repaired;
    budget -= repaired.size() + 1;
    if (cut) {
      out.argv_truncated = true;
      break;
    }
  }
  for (const auto& [offset, length] : spans) {
    out.argv.push_back(std::string_view(out.args_).substr(offset, length));
  }
}

}  // namespace cellos::telemetry::process
