// Where the name a process had when it exited can be looked up after /proc has forgotten it,
// and whether a pid's holder has exited (so /proc/PID may show another process by now).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "exit_accounting.hpp"

namespace cellos::telemetry::process {

class ExitNames {
 public:
  virtual ~ExitNames() = default;
  // The comm the kernel recorded when the process whose events are being handled exited (the
  // oldest record held for pid), or nullopt if no record is at hand.
  virtual std::optional<std::string> name_at_exit(uint32_t pid) = 0;
  // What the process whose exit is being handled cost (the oldest record held for pid), or
  // nullopt if no record is at hand or it carried none.
  virtual std::optional<ExitAccounting> accounting_at_exit(uint32_t /*pid*/) {
    return std::nullopt;
  }
  // Whether a task with this pid has exited and its exit event has not been handled yet, or
  // records were lost so that this cannot be ruled out. A read of /proc/PID made before asking
  // is then not proven to be about the process the pending events are about.
  virtual bool exit_pending(uint32_t pid) = 0;
  // Whether a record of this pid's exit is already at hand (without reading what is queued):
  // the process whose events are being handled has exited, so /proc has nothing of it to
  // read. false when that cannot be said cheaply.
  virtual bool exit_held(uint32_t /*pid*/) { return false; }
  // The connector's exit event for pid (a process or a thread) has been handled.
  virtual void exit_handled(uint32_t pid) = 0;
};

}  // namespace cellos::telemetry::process
