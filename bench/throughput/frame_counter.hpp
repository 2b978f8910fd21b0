// Counts whole frames as they stream by from the agent, for the throughput benchmark: event
// frames, and the events the core reports dropped (telemetry.dropped's dropped_count).
//
// Since frames carry seq (sinks/vsock/README.md, "Streams") every event frame's map has six
// pairs, like a telemetry.dropped report without seq once had: the kind is told by its
// probe_source, which every body carries at the same offset (the map head, content_version and
// its value, the probe_source key have fixed sizes), so only the rare report is decoded.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cellos::telemetry::bench {

class FrameCounter {
 public:
  // Bytes as read from the stream, in any pieces.
  void feed(const uint8_t* data, size_t n);
  // agent.hello, agent.heartbeat and telemetry.dropped frames are not events.
  uint64_t events() const { return events_.load(); }
  uint64_t bytes() const { return bytes_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t reports() const { return reports_.load(); }

 private:
  void frame(const uint8_t* p, size_t size);

  std::vector<uint8_t> carry_;
  std::atomic<uint64_t> events_{0}, bytes_{0}, dropped_{0}, reports_{0};
};

}  // namespace cellos::telemetry::bench
