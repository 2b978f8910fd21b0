#include "event.hpp"

#include <ctime>

#include "utf8.hpp"

namespace cellos::telemetry {

OwnedEvent own_event(const ct_event& e) {
  OwnedEvent o;
  o.probe_source = e.probe_source ? e.probe_source : "";
  o.guest_pid = e.guest_pid;
  const std::string_view comm = e.guest_comm ? e.guest_comm : "";
  o.guest_comm = is_valid_utf8(comm) ? std::string(comm) : repair_utf8(comm);
  o.guest_monotonic_ns = e.guest_monotonic_ns;
  for (uint32_t i = 0; i < e.n_extras && e.extras; ++i) {
    if (e.extras[i].key) o.extras.emplace_back(e.extras[i].key, e.extras[i].value);
  }
  return o;
}

void EventView::point_at(const OwnedEvent& e) {
  extras.clear();
  for (const auto& [k, v] : e.extras) extras.push_back(ct_extra{k.c_str(), v});
  event = ct_event{e.probe_source.c_str(),
                   e.guest_pid,
                   e.guest_comm.c_str(),
                   e.guest_monotonic_ns,
                   extras.empty() ? nullptr : extras.data(),
                   static_cast<uint32_t>(extras.size())};
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace cellos::telemetry
