#include "status_ids.hpp"

#include <charconv>
#include <cstdint>

namespace cellos::telemetry::process {
namespace {

// The first two numbers after "key:" at the start of a line: real and effective.
bool real_and_effective(std::string_view status, std::string_view key, uint32_t& real,
                        uint32_t& effective) {
  size_t at = 0;
  while (true) {
    if (status.compare(at, key.size(), key) == 0) break;
    at = status.find('\n', at);
    if (at == std::string_view::npos) return false;
    ++at;
  }
  std::string_view line = status.substr(at + key.size());
  line = line.substr(0, line.find('\n'));
  uint32_t* out[] = {&real, &effective};
  for (uint32_t* v : out) {
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) return false;
    line.remove_prefix(start);
    const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), *v);
    if (ec != std::errc() || end == line.data()) return false;
    line.remove_prefix(static_cast<size_t>(end - line.data()));
    if (!line.empty() && line.front() != '\t' && line.front() != ' ') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> parse_status_name(std::string_view status) {
  constexpr std::string_view kKey = "Name:\t";
  if (status.substr(0, kKey.size()) != kKey) return std::nullopt;
  status.remove_prefix(kKey.size());
  const size_t end = status.find('\n');
  if (end == std::string_view::npos) return std::nullopt;
  std::string name;
  name.reserve(end);
  for (size_t i = 0; i < end; ++i) {
    char c = status[i];
    if (c == '\\' && i + 1 < end && (status[i + 1] == 'n' || status[i + 1] == '\\')) {
      c = status[++i] == 'n' ? '\n' : '\\';
    }
    name += c;
  }
  return name;
}

std::optional<ProcessIds> parse_status_ids(std::string_view status) {
  ProcessIds ids;
  if (!real_and_effective(status, "Uid:", ids.uid, ids.euid)) return std::nullopt;
  if (!real_and_effective(status, "Gid:", ids.gid, ids.egid)) return std::nullopt;
  return ids;
}

}  // namespace cellos::telemetry::process
