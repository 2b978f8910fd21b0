// Where the name a process had when it exited can be looked up after /proc has forgotten it.
#pragma once

#include <cstdint>
#include <string>

namespace cellos::telemetry::process {

class ExitNames {
 public:
  virtual ~ExitNames() = default;
  // Takes in the records the kernel has queued so far.
  virtual void refresh() = 0;
  // The comm recorded when pid exited, among the records taken in; nullptr if none.
  virtual const std::string* lookup(uint32_t pid) const = 0;
  // That exit was handled; its record must not be mistaken for a later holder of the pid's.
  virtual void forget(uint32_t pid) = 0;
};

}  // namespace cellos::telemetry::process
