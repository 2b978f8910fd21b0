// The digest of a merged configuration that the agent announces (agent.hello's config_digest),
// so that a fleet's host can tell which VM runs which configuration without reading any file.
//
// It is SHA-256 over a canonical text, not over the files: two VMs whose files differ only in
// comments, order, whitespace, drop-in names or spelled-out defaults run the same configuration
// and get the same digest; any value that changes what runs changes it. The canonical text
// (docs/stream-identity.md) is one line per [agent] key and per option of every enabled
// instance, defaults filled in, values in JSON:
//
//   cellos-telemetry-config 1
//   agent heartbeat_interval_ms 5000
//   sinks.vsock[0] address "vsock://2:9001"
//   sinks.vsock[0] match ["*"]
//
// [agent] keys in their declared order, then probes and sinks in the order they were
// configured, each instance's options in its plugin's declared order, then (sinks) match and
// queue_capacity. File names and positions are not part of it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config.hpp"

namespace cellos::telemetry {

struct DigestedInstance {
  const InstanceConfig* config;
  const OptionValues* options;  // the plugin's own, validated
};

std::string canonical_config(const OptionValues& agent,
                             const std::vector<DigestedInstance>& instances);
// sha256_hex(canonical_config(...)).
std::string config_digest(const OptionValues& agent,
                          const std::vector<DigestedInstance>& instances);

}  // namespace cellos::telemetry
