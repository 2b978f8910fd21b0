#include "bus.hpp"

#include <algorithm>

namespace cellos::telemetry {

struct Bus::Sink {
  SinkId id;
  SinkEndpoint* endpoint;
  SinkQueue queue;
  SourceMatcher matcher;
  bool in_service = true;
  bool ready = true;  // false after consume took fewer than offered, until wake()
  bool fed_since_heartbeat = false;
};

Bus::Bus(Origin origin) : origin_(std::move(origin)) {}

Bus::~Bus() = default;

Bus::SinkId Bus::add_sink(SinkEndpoint& endpoint, std::vector<std::string> match,
                          size_t queue_capacity) {
  sinks_.push_back(std::make_unique<Sink>(
      Sink{sinks_.size(), &endpoint, SinkQueue(queue_capacity), SourceMatcher(std::move(match))}));
  return sinks_.size() - 1;
}

void Bus::route(const ct_event& e) {
  OwnedEvent owned = own_event(e);
  Sink* last = nullptr;
  for (auto& s : sinks_) {
    if (!s->in_service || !s->matcher.matches(owned.probe_source)) continue;
    if (last) {
      last->queue.push(owned);
      last->fed_since_heartbeat = true;
    }
    last = s.get();
  }
  if (last) {  // the last sink takes the event without a copy
    last->queue.push(std::move(owned));
    last->fed_since_heartbeat = true;
  }
  pump_pending_ = true;
}

void Bus::wake(SinkId sink) {
  sinks_.at(sink)->ready = true;
  pump_pending_ = true;
}

OwnedEvent Bus::own_event_now(const char* source) const {
  OwnedEvent e;
  e.probe_source = source;
  e.guest_pid = origin_.pid;
  e.guest_comm = origin_.comm;
  e.guest_monotonic_ns = monotonic_ns();
  return e;
}

void Bus::pump_sink(Sink& s) {
  auto& views = views_;
  auto& batch = batch_;
  while (s.in_service && s.ready) {
    if (s.queue.unreported_drops() > 0) {
      // Offered before anything newer, so the count says exactly what is missing here.
      OwnedEvent d = own_event_now("telemetry.dropped");
      d.add_uint("dropped_count", s.queue.unreported_drops());
      views[0].point_at(d);
      const ct_event* const one = &views[0].event;
      const std::optional<size_t> accepted = s.endpoint->consume({&one, 1});
      if (!accepted) {
        retire(s.id);
        return;
      }
      if (!s.in_service) return;
      if (*accepted == 0) {
        s.ready = false;
        return;
      }
      s.queue.mark_drops_reported();
    }
    if (s.queue.empty()) return;
    const size_t n = std::min(kBatch, s.queue.size());
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      views[i].point_at(s.queue.at(i));
      batch.push_back(&views[i].event);
    }
    const std::optional<size_t> accepted = s.endpoint->consume(batch);
    if (!accepted) {
      retire(s.id);
      return;
    }
    if (!s.in_service) return;
    s.queue.pop(std::min(*accepted, n));
    if (*accepted < n) s.ready = false;
  }
}

void Bus::pump() {
  while (pump_pending_) {
    pump_pending_ = false;
    for (auto& s : sinks_) pump_sink(*s);
  }
}

void Bus::heartbeat() {
  static const std::string kHeartbeat = "agent.heartbeat";
  for (auto& s : sinks_) {
    if (!s->fed_since_heartbeat && s->in_service && s->matcher.matches(kHeartbeat)) {
      s->queue.push(own_event_now("agent.heartbeat"));
      pump_pending_ = true;
    }
    s->fed_since_heartbeat = false;
  }
}

size_t Bus::retire(SinkId sink) {
  Sink& s = *sinks_.at(sink);
  if (!s.in_service) return 0;
  s.in_service = false;
  const size_t discarded = s.queue.size();
  s.queue.discard_all();
  return discarded;
}

bool Bus::in_service(SinkId sink) const {
  return sinks_.at(sink)->in_service;
}

bool Bus::drained(SinkId sink) const {
  const Sink& s = *sinks_.at(sink);
  return s.queue.empty() && s.queue.unreported_drops() == 0;
}

const SinkQueue& Bus::queue(SinkId sink) const {
  return sinks_.at(sink)->queue;
}

std::string Bus::exit_account(SinkId sink) const {
  const SinkQueue& q = queue(sink);
  return std::to_string(q.total_pushed()) + " event(s) queued, " + std::to_string(q.total_taken()) +
         " taken by the sink, " + std::to_string(q.total_drops()) + " dropped, " +
         std::to_string(q.size()) + " left at exit";
}

}  // namespace cellos::telemetry
