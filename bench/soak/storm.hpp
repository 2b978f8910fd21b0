// The fork storm: worker processes of this program that start short-lived processes as fast as
// they can (or at a set rate) and record the pid of every one, so the soak can tell which of
// the agent's events were about processes it started itself.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "accounting.hpp"

namespace cellos::telemetry::soak {

// The comm of the workers, which their vfork()ed children inherit.
inline constexpr const char* kStormComm = "soak-storm";

struct StormOptions {
  int workers = 2;
  double rate = 0;     // processes per second over all workers; 0: as fast as they can
  int exec_every = 2;  // every Nth process execs /bin/true, the others _exit at once; 0: none
};

class Storm {
 public:
  // Forks the workers; each writes its pids to DIR/storm-N.pids when told to stop.
  Storm(const StormOptions& options, const std::string& dir);
  ~Storm();
  Storm(const Storm&) = delete;
  Storm& operator=(const Storm&) = delete;

  // SIGTERM to each worker (by pid), waits for them, and reads what they started. False if a
  // worker failed; `error` says how.
  bool stop(StormStarts& starts, std::string& error);

 private:
  std::vector<pid_t> workers_;
  std::vector<std::string> files_;
};

}  // namespace cellos::telemetry::soak
