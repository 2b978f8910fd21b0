#pragma once

#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/clock.hpp>  // monotonic_ns, for the core's users

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cellos::telemetry {

// One typed extra of an OwnedEvent. Its key and texts live in the event's pool (offsets, so
// the event can be moved and copied without fixing pointers up).
struct OwnedExtra {
  uint32_t key_offset = 0;  // NUL-terminated in the pool
  uint32_t type = 0;        // a ct_value_type
  uint64_t number = 0;      // CT_VALUE_UINT; CT_VALUE_NEGINT as int64 bits; CT_VALUE_BOOL 0/1
  uint32_t first_text = 0;  // CT_VALUE_TEXT: one text, CT_VALUE_TEXT_LIST: n_texts
  uint32_t n_texts = 0;
};

// The typed extras of one event, immutable once built: keys and texts in one pool (offsets, so
// it can be copied without fixing pointers up), three allocations whatever their number.
struct ExtraStore {
  std::vector<OwnedExtra> extras;
  std::vector<std::pair<uint32_t, uint32_t>> texts;  // (offset, length) in pool
  std::string pool;

  std::string_view key(const OwnedExtra& x) const { return pool.c_str() + x.key_offset; }
  std::string_view text(uint32_t index) const {
    return std::string_view(pool).substr(texts[index].first, texts[index].second);
  }
};

// An event as the core keeps it in a sink queue: owns its strings, comm and texts already
// repaired. Extras are shared, not copied, by the copies routing makes for each sink; an event
// without extras holds a null pointer and allocates nothing for them (OwnedEvent is no bigger
// than it was with ABI 1's vector of unsigned extras).
struct OwnedEvent {
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::shared_ptr<const ExtraStore> extras;  // null: none

  size_t n_extras() const { return extras ? extras->extras.size() : 0; }
  // Appends an unsigned extra (the core's own events: dropped_count).
  void add_uint(std::string_view key, uint64_t v);
};

// What a plugin may hand the bus: struct_size at least CT_EVENT_SIZE_2_0; a probe_source of
// dot-separated lower-case words (at most 63 bytes); a comm of at most 15 bytes (the kernel's
// limit) before repair; extras within the limits plugin_abi.h states next to ct_extra (count,
// keys, known types, negative NEGINT, text and list sizes). Returns why e breaks that, or "".
std::string check_event(const ct_event& e);
// The same without the probe_source checks, for an event whose probe_source is known to pass
// them (the one its probe emitted last: host_emit checks a name once, not once per event).
// When it passes and comm_len is given, *comm_len is guest_comm's strlen (0 for NULL), measured
// on the way, so that the record need not measure it again.
std::string check_event_after_source(const ct_event& e, size_t* comm_len = nullptr);
// check_event_after_source for the common event, inline and without a message to build (that
// call was about 5% of the agent's time per event, bench/throughput): true when e has no extras
// and passes, its comm's strlen then in *comm_len; false says nothing (ask
// check_event_after_source).
inline bool passes_without_extras(const ct_event& e, size_t* comm_len) {
  if (e.struct_size < CT_EVENT_SIZE_2_0 || e.n_extras != 0) return false;
  const size_t n = e.guest_comm ? strnlen(e.guest_comm, CT_COMM_MAX_BYTES + 1) : 0;
  if (n > CT_COMM_MAX_BYTES) return false;
  *comm_len = n;
  return true;
}

// Copies a checked event, repairing comm and every text to valid UTF-8.
OwnedEvent own_event(const ct_event& e);

// A borrowed view for handing queued events to a sink; valid while the OwnedEvent lives and
// until the next point_at.
struct EventView {
  ct_event event{};
  std::vector<ct_extra> extras;
  std::vector<ct_text> texts;
  void point_at(const OwnedEvent& e);
};

}  // namespace cellos::telemetry
