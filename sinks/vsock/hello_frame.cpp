#include "hello_frame.hpp"

#include <cellos/telemetry/sdk.hpp>

#include "frame_encoder.hpp"

namespace cellos::telemetry::wire {

size_t encode_hello(const HelloIdentity& who, HelloPoint where, uint64_t monotonic_ns,
                    std::span<uint8_t> out) {
  const ct_extra extras[] = {
      uint_extra("stream_id", where.stream_id),
      text_extra("boot_id", who.boot_id),
      text_extra("agent_version", who.agent_version),
      text_extra("config_digest", who.config_digest),
      uint_extra("first_seq", where.first_seq),
  };
  const ct_event e = make_event("agent.hello", who.pid, who.comm.c_str(), monotonic_ns, extras,
                                static_cast<uint32_t>(std::size(extras)));
  return encode_frame(e, out);
}

}  // namespace cellos::telemetry::wire
