#include "accounting.hpp"

#include <algorithm>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <tuple>

namespace cellos::telemetry::soak {
namespace {

constexpr std::string_view kDropped = "telemetry.dropped";
constexpr std::string_view kLost = "process.lost";
constexpr std::string_view kScripted = "soak.event";

// A JSON string's contents as printed (escapes kept); `pos` is just past the opening quote and
// ends just past the closing one.
std::optional<std::string_view> raw_string(std::string_view s, size_t& pos) {
  const size_t start = pos;
  while (pos < s.size()) {
    if (s[pos] == '\\') {
      pos += 2;
      continue;
    }
    if (s[pos] == '"') return s.substr(start, pos++ - start);
    ++pos;
  }
  return std::nullopt;
}

std::optional<uint64_t> number(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  const auto r = std::from_chars(s.data() + pos, s.data() + s.size(), v);
  if (r.ec != std::errc{} || r.ptr == s.data() + pos) return std::nullopt;
  pos = static_cast<size_t>(r.ptr - s.data());
  return v;
}

// Skips a value the accounting does not use: true, false, a negative integer, or a list of
// strings (the process ledger's argv). False when it is none of these.
bool skip_other_value(std::string_view s, size_t& pos) {
  for (std::string_view word : {std::string_view("true"), std::string_view("false")}) {
    if (s.compare(pos, word.size(), word) == 0) {
      pos += word.size();
      return true;
    }
  }
  if (s[pos] == '-') {
    ++pos;
    return number(s, pos).has_value();
  }
  if (s[pos] != '[') return false;
  ++pos;
  if (pos < s.size() && s[pos] == ']') {
    ++pos;
    return true;
  }
  while (pos < s.size() && s[pos] == '"') {
    ++pos;
    if (!raw_string(s, pos) || pos >= s.size()) return false;
    if (s[pos] == ']') {
      ++pos;
      return true;
    }
    if (s[pos] != ',') return false;
    ++pos;
  }
  return false;
}

}  // namespace

std::optional<WireLine> parse_wire_line(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  WireLine w;
  bool have_source = false, have_pid = false, have_comm = false, have_ns = false;
  size_t pos = 1;
  while (true) {
    if (pos >= s.size() || s[pos] != '"') return std::nullopt;
    ++pos;
    const auto key = raw_string(s, pos);
    if (!key || pos >= s.size() || s[pos] != ':') return std::nullopt;
    ++pos;
    if (pos >= s.size()) return std::nullopt;
    if (s[pos] == '"') {
      ++pos;
      const auto text = raw_string(s, pos);
      if (!text) return std::nullopt;
      if (*key == "probe_source") {
        w.probe_source = *text;
        have_source = true;
      } else if (*key == "guest_comm") {
        w.guest_comm = *text;
        have_comm = true;
      }
    } else if (s[pos] == '[' || s[pos] == '-' || s[pos] == 't' || s[pos] == 'f') {
      if (!skip_other_value(s, pos)) return std::nullopt;
    } else {
      const auto n = number(s, pos);
      if (!n) return std::nullopt;
      if (*key == "guest_pid") {
        if (*n > UINT32_MAX) return std::nullopt;
        w.guest_pid = static_cast<uint32_t>(*n);
        have_pid = true;
      } else if (*key == "guest_monotonic_ns") {
        w.guest_monotonic_ns = *n;
        have_ns = true;
      } else if (*key == "dropped_count") {
        w.dropped_count = *n;
      } else if (*key == "lost_count") {
        w.lost_count = *n;
      }
    }
    if (pos >= s.size()) return std::nullopt;
    if (s[pos] == '}') break;
    if (s[pos] != ',') return std::nullopt;
    ++pos;
  }
  if (pos + 1 != s.size() || !have_source || !have_pid || !have_comm || !have_ns) {
    return std::nullopt;
  }
  return w;
}

std::optional<SinkAccount> parse_sink_account(const std::string& log, const std::string& sink) {
  // The sink logs other lines under its name too (connections, its stop summary); the last
  // line that reads as the account wins.
  std::optional<SinkAccount> found;
  const std::string prefix = sink + ": ";
  for (size_t at = log.find(prefix); at != std::string::npos; at = log.find(prefix, at + 1)) {
    SinkAccount a;
    if (std::sscanf(log.c_str() + at + prefix.size(),
                    "%" SCNu64 " event(s) queued, %" SCNu64 " taken by the sink, %" SCNu64
                    " dropped, %" SCNu64 " left at exit",
                    &a.queued, &a.taken, &a.dropped, &a.left) == 4) {
      found = a;
    }
  }
  return found;
}

uint32_t Ledger::intern(std::unordered_map<std::string, uint32_t>& ids,
                        std::vector<std::string>& names, std::string_view s) {
  const auto [it, added] = ids.try_emplace(std::string(s), static_cast<uint32_t>(names.size()));
  if (added) names.emplace_back(s);
  return it->second;
}

void Ledger::add_receiver_output(std::istream& in, bool killed) {
  std::string line;
  // The latest unparseable line is judged once we know whether it was the last one.
  bool bad = false, bad_unterminated = false;
  while (std::getline(in, line)) {
    if (bad) ++malformed_;  // not last: no SIGKILL explains it
    bad = false;
    ++lines_;
    const auto w = parse_wire_line(line);
    if (!w) {
      bad = true;
      bad_unterminated = in.eof();  // getline stopped at the end of the file, not at a newline
      continue;
    }
    records_.push_back(Record{w->guest_monotonic_ns, w->guest_pid,
                              intern(source_ids_, sources_, w->probe_source),
                              intern(comm_ids_, comms_, w->guest_comm),
                              w->dropped_count.value_or(w->lost_count.value_or(kNoCount))});
  }
  if (bad) {
    // A SIGKILL inside write() leaves a prefix of a line with no newline after it. The frames
    // behind it were not consumed from the socket yet, so they come again to the next receiver.
    if (killed && bad_unterminated) {
      ++cut_;
    } else {
      ++malformed_;
    }
  }
}

Tally Ledger::tally(uint32_t agent_pid, const StormStarts& storm,
                    std::string_view storm_comm) const {
  Tally t;
  t.lines = lines_;
  t.cut_last_lines = cut_;
  t.malformed_lines = malformed_;

  std::vector<Record> sorted = records_;
  std::sort(sorted.begin(), sorted.end(),
            [](const Record& a, const Record& b) { return a.key() < b.key(); });

  const auto find_comm = [&](std::string_view c) -> std::optional<uint32_t> {
    const auto it = comm_ids_.find(std::string(c));
    return it == comm_ids_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
  };
  const auto storm_comm_id = find_comm(storm_comm), true_id = find_comm("true");
  const auto storm_named = [&](uint32_t comm) { return comm == storm_comm_id || comm == true_id; };
  std::unordered_map<uint32_t, uint32_t> spawned, execs, exited;
  std::vector<uint32_t> seqs;

  for (size_t i = 0; i < sorted.size();) {
    const Record& r = sorted[i];
    size_t j = i + 1;
    for (; j < sorted.size() && sorted[j].key() == r.key(); ++j) {
      if (sorted[j].count != r.count) ++t.conflicting_duplicates;
    }
    t.duplicates += j - i - 1;
    i = j;
    ++t.unique;

    const std::string& source = sources_[r.source];
    const uint64_t count = r.count == kNoCount ? 0 : r.count;
    if (source == kDropped && r.pid == agent_pid) {
      ++t.core_reports;
      t.core_dropped += count;
      continue;  // a report about the queue, not an event that went through it
    }
    if (source == "agent.hello" && r.pid == agent_pid) {
      ++t.hellos;
      continue;  // the vsock sink's introduction of a connection, not an event it took
    }
    if (source == kLost && r.pid == agent_pid) {
      ++t.probe_reports;
      t.probe_dropped += count;
    }
    ++t.events;
    ++t.by_source[source];
    if (source == kScripted) seqs.push_back(r.pid);
    if (source == "process.spawned" && storm_named(r.comm)) ++spawned[r.pid];
    if (source == "process.exec" && r.comm == true_id) ++execs[r.pid];
    if (source == "process.exited" && storm_named(r.comm)) ++exited[r.pid];
  }

  if (!seqs.empty()) {
    std::sort(seqs.begin(), seqs.end());
    const uint64_t distinct =
        static_cast<uint64_t>(std::unique(seqs.begin(), seqs.end()) - seqs.begin());
    t.scripted_max = seqs[distinct - 1];
    t.scripted_missing = t.scripted_max - distinct;
  }
  // A storm pid counts at most as often as the storm started a process under it; the comm
  // filter keeps the guest's other processes that later held the same pid out of it.
  const auto covered = [](const std::unordered_map<uint32_t, uint32_t>& seen,
                          const std::unordered_map<uint32_t, uint32_t>& started) {
    uint64_t n = 0;
    for (const auto& [pid, times] : started) {
      const auto it = seen.find(pid);
      if (it != seen.end()) n += std::min(times, it->second);
    }
    return n;
  };
  t.storm_spawned = covered(spawned, storm.all);
  t.storm_exec = covered(execs, storm.execed);
  t.storm_exited = covered(exited, storm.all);
  return t;
}

}  // namespace cellos::telemetry::soak
