#include "event.hpp"

#include <ctime>

#include <cellos/telemetry/text.hpp>

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

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_wire_key(std::string_view k) {
  return k == "content_version" || k == "probe_source" || k == "guest_pid" || k == "guest_comm" ||
         k == "guest_monotonic_ns";
}

}  // namespace

std::string check_event(const ct_event& e) {
  if (e.probe_source == nullptr) return "event without probe_source";
  const std::string_view src(e.probe_source);
  bool word_start = true, has_dot = false;
  for (const char c : src) {
    if (c == '.') {
      if (word_start) break;
      word_start = true;
      has_dot = true;
    } else if (is_word_char(c)) {
      word_start = false;
    } else {
      word_start = true;  // any other character: reject below
      has_dot = false;
      break;
    }
  }
  if (src.empty() || src.size() > 63 || word_start || !has_dot) {
    return "probe_source '" + std::string(src.substr(0, 80)) +
           "' is not of the form word.word (lower-case, digits, '_', at most 63 bytes)";
  }
  if (e.guest_comm != nullptr && std::string_view(e.guest_comm).size() > 15) {
    return "guest_comm of " + std::to_string(std::string_view(e.guest_comm).size()) +
           " bytes (the kernel's comm is at most 15)";
  }
  if (e.n_extras > 8 || (e.n_extras > 0 && e.extras == nullptr)) {
    return std::to_string(e.n_extras) + " extra keys (at most 8)";
  }
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const char* k = e.extras[i].key;
    const std::string_view key = k ? k : "";
    bool ok = !key.empty() && key.size() <= 32 && !is_wire_key(key);
    for (const char c : key) ok = ok && is_word_char(c);
    if (!ok) return "extra key '" + std::string(key.substr(0, 40)) + "' is not allowed";
  }
  return "";
}

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace cellos::telemetry
