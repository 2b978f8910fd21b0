// The agent.hello frame: the first frame of every connection, and the first of every new
// stream within one (stream_sequencer.hpp). A frame of the sink's own, not a bus event: it
// has no seq. Its extras, in this order (README.md, "Streams"):
//   stream_id (unsigned), boot_id (text), agent_version (text), config_digest (text),
//   first_seq (unsigned: the seq of the event frame that follows it on this connection).
#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "stream_sequencer.hpp"

namespace cellos::telemetry::wire {

// What every hello of this agent says besides where it is (copied from ct_host.stream).
struct HelloIdentity {
  std::string boot_id;
  std::string agent_version;
  std::string config_digest;
  uint32_t pid = 0;  // guest_pid and guest_comm: the agent itself
  std::string comm;
};

// Encodes the hello at the start of out (at least kMaxFrameBytes) and returns its size.
size_t encode_hello(const HelloIdentity& who, HelloPoint where, uint64_t monotonic_ns,
                    std::span<uint8_t> out);

}  // namespace cellos::telemetry::wire
