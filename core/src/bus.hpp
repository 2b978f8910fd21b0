#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "event.hpp"
#include "sink_queue.hpp"

namespace cellos::telemetry {

// What the bus hands a sink's events to. The agent's implementation calls a sink plugin (and
// enforces the call time limit); tests implement it with fakes, in-process.
class SinkEndpoint {
 public:
  virtual ~SinkEndpoint() = default;
  // Offers events, valid only for the call. Returns how many were taken, always a prefix (more
  // than offered counts as all), or nullopt when the sink failed: the bus then offers it nothing
  // more. Taking fewer than offered means "full": nothing more is offered until Bus::wake.
  virtual std::optional<size_t> consume(std::span<const ct_event* const> events) = 0;
};

// Routes events to sinks. Every event goes to every sink whose match globs accept its
// probe_source, into that sink's own bounded queue: a full queue drops its own oldest event and
// counts it, so a slow or absent sink never holds back a probe or another sink. Pumping offers
// each sink its queue in batches; drops are offered as one telemetry.dropped event (with the
// exact dropped_count) before anything newer, so the count says exactly what is missing where.
//
// It knows no plugin and no clock beyond stamping its own events: the event loop, timers and
// plugin calls are the agent's. One thread. From inside consume an endpoint may retire its sink
// once it is done with the batch (the bus reads nothing of it after consume returns); it may not
// route, which could drop the very events it is being offered; a wake from inside consume does
// not outlive a short take (the sink wakes after the consume that took fewer, as the ABI says).
class Bus {
 public:
  using SinkId = size_t;
  // Who the bus's own events (telemetry.dropped, agent.heartbeat) are about: the agent.
  struct Origin {
    uint32_t pid = 0;
    std::string comm;
  };

  explicit Bus(Origin origin);
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // The endpoint must outlive the bus, or be retired before it goes.
  // queue_capacity events and queue_bytes of memory bound the sink's queue (SinkQueue).
  SinkId add_sink(SinkEndpoint& endpoint, std::vector<std::string> match, size_t queue_capacity,
                  size_t queue_bytes = SinkQueue::kDefaultBytes);

  // Copies e (comm repaired to UTF-8) into the queue of every sink in service that matches.
  // known: the lengths of its probe_source and guest_comm, when the caller measured them.
  void route(const ct_event& e, const TextLengths* known = nullptr);
  // The sink can take events again (after it took fewer than offered).
  void wake(SinkId sink);
  // Offers queued events to every sink that is ready, until nothing more moves.
  void pump();
  // One heartbeat tick: agent.heartbeat to every sink in service that matches it and was routed
  // nothing since the previous tick. Pumped by the next pump().
  void heartbeat();
  // The VM generation changed and the agent's stream is now stream_id. Every sink in service is
  // offered agent.restored (extras stream_id, previous_stream_id) after everything routed to
  // it before this call and before anything routed after, whatever its match globs: the event
  // marks where the sink's new stream begins (a sink that numbers what it takes starts again
  // there), so the queue never drops it, like telemetry.dropped. Pumped by the next pump().
  void restore(uint64_t stream_id, uint64_t previous_stream_id);
  // Takes a sink out of service: its queue is discarded (counted as dropped) and it gets
  // nothing more. Returns how many queued events were discarded. Retiring twice does nothing.
  size_t retire(SinkId sink);

  bool in_service(SinkId sink) const;
  // Nothing queued, no drop and no restore left to report: everything routed to it was offered
  // and taken.
  bool drained(SinkId sink) const;
  const SinkQueue& queue(SinkId sink) const;
  // The account an operator (or the soak test) can check: queued = taken + dropped + left.
  // "N event(s) queued, T taken by the sink, D dropped, L left at exit".
  std::string exit_account(SinkId sink) const;
  size_t sink_count() const { return sinks_.size(); }

 private:
  struct Sink;
  void pump_sink(Sink& s);
  // Offers one event of the bus's own; false when the sink failed or took it not.
  bool offer_one(Sink& s, const ct_event& e);
  ct_event event_now(const char* source) const;  // the bus's own: about the agent, now

  Origin origin_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  bool pump_pending_ = false;
  bool pumping_ = false;                  // inside pump_sink: a sink's consume never re-enters it
  static constexpr size_t kBatch = 1024;  // events offered to a sink per consume call
  // Reused across calls: the hot path allocates nothing. Queued events are records the sink is
  // handed pointers to (ABI 2: sinks index pointers, never sizeof(ct_event)), nothing rebuilt.
  RecordBuilder builder_;
  std::vector<const ct_event*> batch_ = std::vector<const ct_event*>(kBatch);
};

}  // namespace cellos::telemetry
