// The soak's bookkeeping: what the receivers printed, deduplicated, checked against what the
// agent says it queued. Kept apart from the process orchestration so it can be unit-tested on
// hand-written lines.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cellos::telemetry::soak {

// One JSON line as cellos-telemetry-recv (or the stdout sink) prints it. Text values are kept
// as printed, escapes included: identity is all the soak needs, and equal strings print equally.
struct WireLine {
  std::string_view probe_source;
  uint32_t guest_pid = 0;
  std::string_view guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::optional<uint64_t> dropped_count;  // the core's telemetry.dropped
  std::optional<uint64_t> lost_count;     // the process probe's process.lost
};

// Nullopt for anything but one complete flat object carrying the four identifying keys: a
// line cut short by a SIGKILL during the receiver's write() ends up here.
std::optional<WireLine> parse_wire_line(std::string_view line);

// The agent's per-sink account, logged on stderr at exit:
//   "<sink>: Q event(s) queued, T taken by the sink, D dropped, L left at exit"
struct SinkAccount {
  uint64_t queued = 0, taken = 0, dropped = 0, left = 0;
};
std::optional<SinkAccount> parse_sink_account(const std::string& agent_log,
                                              const std::string& sink);

// What the storm started, by pid. Pids are reused (pid_max is 32768 on a small guest), so a pid
// maps to how many processes held it.
struct StormStarts {
  std::unordered_map<uint32_t, uint32_t> all;     // every process the storm started
  std::unordered_map<uint32_t, uint32_t> execed;  // those that exec'd /bin/true
  uint64_t total = 0, total_execed = 0;
};

struct Tally {
  // Every receiver incarnation together.
  uint64_t lines = 0;            // frames printed, duplicates included
  uint64_t cut_last_lines = 0;   // a killed receiver's unfinished last line (not a frame error)
  uint64_t malformed_lines = 0;  // any other unparseable line: a bug somewhere
  uint64_t unique = 0;           // distinct events
  uint64_t duplicates = 0;       // lines - cut - malformed - unique
  uint64_t conflicting_duplicates = 0;  // same identity, different count: impossible
  // The core's loss reports on this sink (telemetry.dropped from the agent's pid; agent.* and
  // telemetry.* are the core's alone): how many, and the sum of their dropped_count.
  uint64_t core_reports = 0, core_dropped = 0;
  // The vsock sink's agent.hello frames (one per connection, and per new stream): not events.
  uint64_t hellos = 0;
  // The process probe's kernel-loss reports (process.lost), received: how many, and the sum of
  // their lost_count. Ordinary events that went through the queue.
  uint64_t probe_reports = 0, probe_dropped = 0;
  // Unique events other than the core's reports: what the sink took from the queue and delivered.
  uint64_t events = 0;
  std::map<std::string, uint64_t> by_source;  // unique events per probe_source
  // The scripted probe's "soak.event" stream: highest seq seen and seqs below it never seen.
  uint64_t scripted_max = 0, scripted_missing = 0;
  // Storm coverage: storm processes reported with each event kind (pid multiplicity bounded by
  // how many storm processes held the pid).
  uint64_t storm_spawned = 0, storm_exec = 0, storm_exited = 0;
};

// Deduplicates by (probe_source, guest_pid, guest_comm, guest_monotonic_ns): a frame sent twice
// after a lost connection is the same bytes, and two distinct events never share all four (the
// timestamp is taken per event, in nanoseconds).
class Ledger {
 public:
  // One receiver incarnation's stdout. A receiver killed with SIGKILL may have died inside its
  // write(): only then, and only for the last line, is an incomplete line expected.
  void add_receiver_output(std::istream& in, bool killed);

  // Identifies the agent by its pid (its own reports carry it); probe_source alone tells its
  // loss reports (telemetry.dropped) from the process probe's (process.lost).
  Tally tally(uint32_t agent_pid, const StormStarts& storm, std::string_view storm_comm) const;

 private:
  struct Record {
    uint64_t ns;
    uint32_t pid, source, comm;
    uint64_t count;  // dropped_count or lost_count; kNoCount when absent
    auto key() const { return std::tie(ns, pid, source, comm); }
  };
  static constexpr uint64_t kNoCount = UINT64_MAX;
  uint32_t intern(std::unordered_map<std::string, uint32_t>& ids, std::vector<std::string>& names,
                  std::string_view s);

  std::vector<Record> records_;
  std::unordered_map<std::string, uint32_t> source_ids_, comm_ids_;
  std::vector<std::string> sources_, comms_;
  uint64_t lines_ = 0, cut_ = 0, malformed_ = 0;
};

}  // namespace cellos::telemetry::soak
