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

class Recorder : public Reporter {
 public:
  void report(Change change, uint32_t pid, std::string_view comm) override {
    events.push_back(Reported{change, pid, std::string(comm)});
  }
  // What was reported since the last take.
  std::vector<Reported> take() { return std::exchange(events, {}); }
  std::vector<Reported> events;
};

}  // namespace cellos::telemetry::process::testing
