#include "system_stats.hpp"

#include <array>

#include "proc_text.hpp"

namespace cellos::telemetry::pressure {

namespace {

// "MemTotal:       24684000 kB" -> 24684000.
std::optional<uint64_t> kib_field(std::string_view text, std::string_view key) {
  auto line = line_starting(text, key);
  if (!line) return std::nullopt;
  std::string_view rest = line->substr(key.size());
  const auto value = parse_uint(next_word(&rest));
  if (!value || next_word(&rest) != "kB" || !next_word(&rest).empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  const auto total = kib_field(text, "MemTotal:");
  const auto available = kib_field(text, "MemAvailable:");
  if (!total || !available) return std::nullopt;
  return MemInfo{*total, *available};
}

std::optional<LoadAvg> parse_loadavg(std::string_view text) {
  if (text.ends_with('\n')) text.remove_suffix(1);
  std::string_view rest = text;
  const auto l1 = parse_hundredths(next_word(&rest));
  const auto l5 = parse_hundredths(next_word(&rest));
  const auto l15 = parse_hundredths(next_word(&rest));
  const std::string_view tasks = next_word(&rest);
  const size_t slash = tasks.find('/');
  if (!l1 || !l5 || !l15 || slash == std::string_view::npos) return std::nullopt;
  const auto running = parse_uint(tasks.substr(0, slash));
  const auto total = parse_uint(tasks.substr(slash + 1));
  if (!running || !total || !parse_uint(next_word(&rest))) return std::nullopt;
  return LoadAvg{*l1, *l5, *l15, *running, *total};
}

std::optional<CpuTimes> parse_cpu_times(std::string_view text) {
  const auto line = line_starting(text, "cpu ");
  if (!line) return std::nullopt;
  std::string_view rest = line->substr(4);
  // user nice system idle iowait irq softirq steal: the eight every kernel since 2.6.11 prints.
  std::array<uint64_t, 8> v{};
  for (auto& field : v) {
    const auto n = parse_uint(next_word(&rest));
    if (!n) return std::nullopt;
    field = *n;
  }
  const uint64_t idle = v[3] + v[4];
  const uint64_t busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return CpuTimes{busy, busy + idle};
}

uint64_t cpu_busy_hundredths(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return 0;
  const uint64_t busy = after.busy - before.busy;
  const uint64_t total = after.total - before.total;
  if (busy >= total) return 10000;
  return (busy * 10000 + total / 2) / total;
}

std::optional<uint64_t> parse_uptime_s(std::string_view text) {
  std::string_view rest = text.substr(0, text.find('\n'));
  const auto hundredths = parse_hundredths(next_word(&rest));
  if (!hundredths) return std::nullopt;
  return *hundredths / 100;
}

}  // namespace cellos::telemetry::pressure
