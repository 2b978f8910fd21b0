#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cellos::telemetry {

// An event as the core keeps it in a sink queue: owns its strings, comm already repaired.
struct OwnedEvent {
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::vector<std::pair<std::string, uint64_t>> extras;
};

// Copies a plugin's event, repairing comm to valid UTF-8.
OwnedEvent own_event(const ct_event& e);

// A borrowed view for handing queued events to a sink; valid while the OwnedEvents live.
struct EventView {
  ct_event event{};
  std::vector<ct_extra> extras;
  void point_at(const OwnedEvent& e);
};

uint64_t monotonic_ns();

}  // namespace cellos::telemetry
