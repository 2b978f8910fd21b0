// Where the name a process had when it exited can be looked up after /proc has forgotten it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace cellos::telemetry::process {

class ExitNames {
 public:
  virtual ~ExitNames() = default;
  // The comm the kernel recorded when pid last exited, or nullopt if no record is at hand.
  // Only asked about a pid that has exited, whose record the kernel has therefore sent.
  virtual std::optional<std::string> name_at_exit(uint32_t pid) = 0;
};

}  // namespace cellos::telemetry::process
