#include "process.hpp"

namespace cellos::telemetry::tree {

Outcome Process::outcome() const {
  // The kernel's word is the most specific: an OOM kill arrives as SIGKILL, a segfault as SIGSEGV.
  if (oom_killed) return Outcome::kOomKilled;
  if (segfault) return Outcome::kSegfault;
  if (!exited) return Outcome::kRunning;
  if (signal) return Outcome::kSignalled;
  if (exit_code) return *exit_code == 0 ? Outcome::kExitedOk : Outcome::kFailed;
  return Outcome::kUnknown;
}

bool Process::failed() const {
  switch (outcome()) {
    case Outcome::kFailed:
    case Outcome::kSignalled:
    case Outcome::kSegfault:
    case Outcome::kOomKilled:
      return true;
    default:
      return false;
  }
}

}  // namespace cellos::telemetry::tree
