// The throughput benchmark's frame counter against frames as the vsock sink writes them (with
// seq), so its events-per-CPU-second figure counts events, and dropped counts drops.
#include "frame_counter.hpp"

#include <gtest/gtest.h>

#include <string>

#include "frame_encoder.hpp"

namespace wire = cellos::telemetry::wire;
using cellos::telemetry::bench::FrameCounter;

namespace {

std::string event_frame(uint64_t seq) {
  const ct_event e{sizeof(ct_event), "process.spawned", 42, "worker", 1000 + seq, nullptr, 0};
  return wire::encode_frame(e, seq);
}

std::string dropped_frame(uint64_t seq, uint64_t count) {
  ct_extra x{};
  x.key = "dropped_count";
  x.value.type = CT_VALUE_UINT;
  x.value.as.u = count;
  const ct_event e{sizeof(ct_event), "telemetry.dropped", 7, "cellos-telemetr", 5, &x, 1};
  return wire::encode_frame(e, seq);
}

std::string heartbeat_frame(uint64_t seq) {
  const ct_event e{sizeof(ct_event), "agent.heartbeat", 7, "cellos-telemetr", 5, nullptr, 0};
  return wire::encode_frame(e, seq);
}

void feed_in_pieces(FrameCounter& c, const std::string& stream, size_t piece) {
  for (size_t at = 0; at < stream.size(); at += piece) {
    const std::string part = stream.substr(at, piece);
    c.feed(reinterpret_cast<const uint8_t*>(part.data()), part.size());
  }
}

}  // namespace

TEST(ThroughputFrameCounter, CountsSeqNumberedEventsAndOnlyReportedDrops) {
  std::string stream;
  uint64_t seq = 1;
  for (int i = 0; i < 1000; ++i) stream += event_frame(seq++);
  stream += dropped_frame(seq++, 250);
  for (int i = 0; i < 500; ++i) stream += event_frame(seq++);
  stream += heartbeat_frame(seq++);
  stream += dropped_frame(seq++, 3);
  FrameCounter c;
  feed_in_pieces(c, stream, 7);  // frames cut anywhere, as reads return them
  EXPECT_EQ(c.events(), 1500u);
  EXPECT_EQ(c.dropped(), 253u);
  EXPECT_EQ(c.reports(), 2u);
  EXPECT_EQ(c.bytes(), stream.size());
}

TEST(ThroughputFrameCounter, CountsFramesWithoutSeqToo) {
  const ct_event e{sizeof(ct_event), "process.spawned", 42, "worker", 1000, nullptr, 0};
  const std::string stream = wire::encode_frame(e) + wire::encode_frame(e);
  FrameCounter c;
  feed_in_pieces(c, stream, stream.size());
  EXPECT_EQ(c.events(), 2u);
  EXPECT_EQ(c.dropped(), 0u);
}
