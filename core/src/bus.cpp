#include "bus.hpp"

#include <algorithm>
#include <deque>

namespace cellos::telemetry {

// A stream change not yet offered to a sink: agent.restored, due once every event pushed
// before it has been taken or dropped.
struct Restore {
  uint64_t at_push;  // the queue's total_pushed() when it happened
  uint64_t stream_id, previous_stream_id, monotonic_ns;
};

struct Bus::Sink {
  SinkId id;
  SinkEndpoint* endpoint;
  SinkQueue queue;
  SourceMatcher matcher;
  bool in_service = true;
  bool ready = true;  // false after consume took fewer than offered, until wake()
  bool fed_since_heartbeat = false;
  std::deque<Restore> restores = {};  // oldest first
  // The push count of the queue's front event (or of the next push when it is empty).
  uint64_t front_index() const { return queue.total_pushed() - queue.size(); }
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

void Bus::route(const ct_event& e, const TextLengths* known) {
  // Built (and its texts repaired) once, straight into the first matching sink's queue, then
  // copied whole from there into the others'.
  const RecordHeader* record = nullptr;
  bool any = false;
  for (auto& s : sinks_) {
    if (!s->in_service || !s->matcher.matches(e.probe_source)) continue;
    const RecordHeader* queued =
        record ? s->queue.push(*record) : s->queue.push(e, builder_, known);
    if (!record) record = queued;
    s->fed_since_heartbeat = true;
    any = true;
  }
  pump_pending_ = true;
  if (!any || pumping_) return;
  // A probe may route thousands of events in one callback (a burst of kernel events), while
  // the loop pumps only after it. A sink that can take them is offered them once its queue is
  // half full, so the queue bounds what a stalled sink costs, not the size of a burst. Only
  // once every queue has its copy: pumping pops, and can give the record's pages back.
  for (auto& s : sinks_) {
    if (s->in_service && s->ready &&
        (s->queue.bytes() > s->queue.capacity_bytes() / 2 ||
         s->queue.size() > s->queue.capacity() / 2)) {
      pump_sink(*s);
    }
  }
}

void Bus::wake(SinkId sink) {
  sinks_.at(sink)->ready = true;
  pump_pending_ = true;
}

ct_event Bus::event_now(const char* source) const {
  return ct_event{sizeof(ct_event), source, origin_.pid, origin_.comm.c_str(), monotonic_ns(),
                  nullptr,          0};
}

bool Bus::offer_one(Sink& s, const ct_event& e) {
  const ct_event* const one = &e;
  const std::optional<size_t> accepted = s.endpoint->consume({&one, 1});
  if (!accepted) {
    retire(s.id);
    return false;
  }
  if (!s.in_service) return false;
  if (*accepted == 0) {
    s.ready = false;
    return false;
  }
  return true;
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
      if (!offer_one(s, d)) return;
      s.queue.mark_drops_reported();
    }
    if (!s.restores.empty() && s.front_index() >= s.restores.front().at_push) {
      const Restore& r = s.restores.front();
      ct_extra ids[2]{};
      ids[0].key = "stream_id";
      ids[0].value.type = CT_VALUE_UINT;
      ids[0].value.as.u = r.stream_id;
      ids[1].key = "previous_stream_id";
      ids[1].value.type = CT_VALUE_UINT;
      ids[1].value.as.u = r.previous_stream_id;
      ct_event e = event_now("agent.restored");
      e.guest_monotonic_ns = r.monotonic_ns;
      e.extras = ids;
      e.n_extras = 2;
      if (!offer_one(s, e)) return;
      s.restores.pop_front();
      continue;
    }
    if (s.queue.empty()) return;
    size_t n = s.queue.front(batch);
    // A batch never spans a stream change: agent.restored goes between.
    if (!s.restores.empty())
      n = std::min<uint64_t>(n, s.restores.front().at_push - s.front_index());
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

void Bus::restore(uint64_t stream_id, uint64_t previous_stream_id) {
  const uint64_t now = monotonic_ns();
  for (auto& s : sinks_) {
    if (!s->in_service) continue;
    s->restores.push_back(Restore{s->queue.total_pushed(), stream_id, previous_stream_id, now});
    s->fed_since_heartbeat = true;
  }
  pump_pending_ = true;
}

size_t Bus::retire(SinkId sink) {
  Sink& s = *sinks_.at(sink);
  if (!s.in_service) return 0;
  s.in_service = false;
  s.restores.clear();
  const size_t discarded = s.queue.size();
  s.queue.discard_all();
  return discarded;
}

bool Bus::in_service(SinkId sink) const {
  return sinks_.at(sink)->in_service;
}

bool Bus::drained(SinkId sink) const {
  const Sink& s = *sinks_.at(sink);
  return s.queue.empty() && s.queue.unreported_drops() == 0 && s.restores.empty();
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
