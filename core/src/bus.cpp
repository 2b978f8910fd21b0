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
                          size_t queue_capacity, size_t queue_bytes) {
  sinks_.push_back(std::unique_ptr<Sink>(new Sink{sinks_.size(), &endpoint,
                                                  SinkQueue(queue_capacity, queue_bytes),
                                                  SourceMatcher(std::move(match))}));
  return sinks_.size() - 1;
}

void Bus::route(const ct_event& e) {
  // Built (and its texts repaired) once, then copied whole into each matching sink's queue.
  const RecordHeader* record = nullptr;
  for (auto& s : sinks_) {
    if (!s->in_service || !s->matcher.matches(e.probe_source)) continue;
    if (!record) record = &builder_.build(e);
    s->queue.push(*record);
    s->fed_since_heartbeat = true;
    // A probe may route thousands of events in one callback (a burst of kernel events), while
    // the loop pumps only after it. A sink that can take them is offered them once its queue is
    // half full, so the queue bounds what a stalled sink costs, not the size of a burst.
    if (s->ready && !pumping_ &&
        (s->queue.bytes() > s->queue.capacity_bytes() / 2 ||
         s->queue.size() > s->queue.capacity() / 2)) {
      pump_sink(*s);
    }
  }
  pump_pending_ = true;
}

void Bus::wake(SinkId sink) {
  sinks_.at(sink)->ready = true;
  pump_pending_ = true;
}

ct_event Bus::event_now(const char* source) const {
  return ct_event{sizeof(ct_event), source, origin_.pid, origin_.comm.c_str(), monotonic_ns(),
                  nullptr,          0};
}

void Bus::pump_sink(Sink& s) {
  if (pumping_) return;
  pumping_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{pumping_};
  auto& batch = batch_;
  while (s.in_service && s.ready) {
    if (s.queue.unreported_drops() > 0) {
      // Offered before anything newer, so the count says exactly what is missing here.
      ct_extra count{};
      count.key = "dropped_count";
      count.value.type = CT_VALUE_UINT;
      count.value.as.u = s.queue.unreported_drops();
      ct_event d = event_now("telemetry.dropped");
      d.extras = &count;
      d.n_extras = 1;
      const ct_event* const one = &d;
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
    const size_t n = s.queue.front(batch);
    const std::optional<size_t> accepted = s.endpoint->consume(std::span(batch).first(n));
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
  for (auto& s : sinks_) {
    if (!s->fed_since_heartbeat && s->in_service && s->matcher.matches("agent.heartbeat")) {
      s->queue.push(event_now("agent.heartbeat"));
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
