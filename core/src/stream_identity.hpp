// Who is speaking: the identity the agent hands sinks (ct_host.stream, plugin_abi.h) and the
// vsock sink announces in agent.hello at the start of every connection.
//
// stream_id is what makes a stream's seq numbers mean something to a host with hundreds of
// VMs: random, drawn with getrandom at start and again at every change of VM generation, so
// that two clones of one snapshot never share a stream even though they share everything else
// (boot_id included: a restored VM did not boot again).
#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <string>

namespace cellos::telemetry {

// A random 64-bit id, never 0 (0 reads as "no stream"). getrandom(2) without GRND_NONBLOCK:
// at the agent's start in a fresh guest the pool may not be initialised yet, and an id drawn
// before it is would be the same in every VM booted from one image; the kernel initialises it
// within moments on anything with a hardware RNG or jitter entropy (6.x always does). Throws
// std::system_error if getrandom fails otherwise.
uint64_t draw_stream_id();

// The first line of /proc/sys/kernel/random/boot_id (path overridable for tests), "" when it
// cannot be read: a guest without /proc still runs, its hello then says so.
std::string read_boot_id(const char* path = "/proc/sys/kernel/random/boot_id");

// Owns the strings ct_stream_info points into; info() stays valid and unmoved for the life of
// the object (the host hands plugins a pointer to it).
class StreamIdentity {
 public:
  StreamIdentity(uint64_t stream_id, std::string boot_id, std::string agent_version);
  StreamIdentity(const StreamIdentity&) = delete;
  StreamIdentity& operator=(const StreamIdentity&) = delete;

  // Set once the configuration is loaded (its digest needs every plugin's option table).
  void set_config_digest(std::string digest);
  // A new VM generation: a new id, returned with the one it replaces. info() keeps the first
  // (plugin_abi.h: sinks learn of later ones from agent.restored).
  uint64_t current() const { return current_; }
  void replace(uint64_t next) { current_ = next; }

  const ct_stream_info* info() const { return &info_; }

 private:
  uint64_t current_;
  std::string boot_id_, agent_version_, config_digest_;
  ct_stream_info info_{};
};

}  // namespace cellos::telemetry
