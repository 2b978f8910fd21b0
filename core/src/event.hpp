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

// What a plugin may hand the bus: a probe_source of dot-separated lower-case words (at most 63
// bytes), a comm of at most 15 bytes (the kernel's limit) before repair, at most 8 extras with
// identifier keys other than the five wire keys. Returns why e breaks that, or "" if it does not.
std::string check_event(const ct_event& e);

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
