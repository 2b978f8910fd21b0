// A Reporter that keeps what it is told, for assertions.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "process_table.hpp"

namespace cellos::telemetry::process::testing {

struct Reported {
  Change change;
  uint32_t pid;
  std::string comm;
  bool operator==(const Reported&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Reported& r) {
  return os << probe_source(r.change) << " " << r.pid << " '" << r.comm << "'";
}

// A record's scalar fields, copied (the record's views last only for the call).
struct RecordCopy {
  Change change;
  uint32_t pid;
  std::string comm;
  uint64_t process_id;
  bool has_parent;
  uint32_t ppid;
  uint64_t parent_id;
  uint64_t start_ns;
  bool initial;
  bool raced;
  bool has_status;
  uint32_t wait_status;
  bool resync;
  uint64_t when_ns;
};

class Recorder : public Reporter {
 public:
  void report(const ProcessRecord& r) override {
    events.push_back(Reported{r.change, r.pid, std::string(r.comm)});
    records.push_back(RecordCopy{r.change, r.pid, std::string(r.comm), r.process_id, r.has_parent,
                                 r.ppid, r.parent_id, r.start_ns, r.initial, r.raced, r.has_status,
                                 r.wait_status, r.resync, r.when_ns});
  }
  // What was reported since the last take.
  std::vector<Reported> take() {
    records.clear();
    return std::exchange(events, {});
  }
  std::vector<Reported> events;
  std::vector<RecordCopy> records;  // the same reports in full, until the next take
};

}  // namespace cellos::telemetry::process::testing
