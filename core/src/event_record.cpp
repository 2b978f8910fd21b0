#include "event_record.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstring>
#include <new>
#include <string_view>

namespace cellos::telemetry {
namespace {

constexpr size_t align8(size_t n) {
  return (n + 7) & ~size_t{7};
}

std::string_view view(const ct_text& t) {
  return t.len == 0 || t.ptr == nullptr ? std::string_view() : std::string_view(t.ptr, t.len);
}

// The bytes s takes once repaired (each maximal invalid subpart becomes U+FFFD, 3 bytes).
[[gnu::noinline]] size_t repaired_bytes(std::string_view s) {
  size_t n = 0, maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t len = text_detail::sequence_length(s, i, &maximal);
    n += len == 0 ? 3 : len;
    i += len == 0 ? maximal : len;
  }
  return n;
}

// The bytes s takes in the record; sets *repair when it needs repair. Inlined, like put and
// copy_text: they run for every text of every event, and calls to them were 5% of the agent's
// time per event (perf, bench/throughput); the rare repair stays out of line.
[[gnu::always_inline]] inline size_t text_bytes(std::string_view s, bool* repair) {
  if (is_valid_utf8(s)) return s.size();
  *repair = true;
  return repaired_bytes(s);
}

// Writes s repaired at *at; returns its size.
[[gnu::noinline]] size_t put_repaired(char* at, std::string_view s) {
  const std::string fixed = repair_utf8(s);  // rare: a workload's odd comm or argv
  std::memcpy(at, fixed.data(), fixed.size());
  return fixed.size();
}

// Copies the n bytes at from to to. The texts of most events are a few bytes long (names,
// comms): for those two overlapping loads and stores of a word beat a call to memcpy, which
// with strlen was about a tenth of the agent's time per event (perf, bench/throughput).
[[gnu::always_inline]] inline void copy_text(char* to, const char* from, size_t n) {
  const auto words = [&](auto word) {
    constexpr size_t w = sizeof word;
    std::memcpy(&word, from, w);
    std::memcpy(to, &word, w);
    std::memcpy(&word, from + n - w, w);
    std::memcpy(to + n - w, &word, w);
  };
  if (n > 16) {
    std::memcpy(to, from, n);
  } else if (n >= 8) {
    words(uint64_t{});
  } else if (n >= 4) {
    words(uint32_t{});
  } else {
    for (size_t i = 0; i < n; ++i) to[i] = from[i];
  }
}

// Writes s (repaired if it must be) at *at, NUL-terminated when asked; returns it.
[[gnu::always_inline]] inline ct_text put(char*& at, std::string_view s, bool nul,
                                          bool may_need_repair) {
  char* const start = at;
  if (!may_need_repair || is_valid_utf8(s)) {
    copy_text(at, s.data(), s.size());
    at += s.size();
  } else {
    at += put_repaired(at, s);
  }
  const auto len = static_cast<uint32_t>(at - start);
  if (nul) *at++ = '\0';
  return ct_text{start, len};
}

bool known_type(uint32_t type) {
  return type == CT_VALUE_UINT || type == CT_VALUE_NEGINT || type == CT_VALUE_BOOL ||
         type == CT_VALUE_TEXT || type == CT_VALUE_TEXT_LIST;
}

template <typename T>
void move_pointer(T*& p, intptr_t delta) {
  if (p != nullptr) p = reinterpret_cast<T*>(reinterpret_cast<intptr_t>(p) + delta);
}

}  // namespace

const RecordHeader& RecordBuilder::build(const ct_event& e) {
  const size_t size = measure(e);
  if (buf_.size() * 8 < size) buf_.resize(size / 8);
  return write(e, buf_.data());
}

size_t RecordBuilder::measure(const ct_event& e, const TextLengths* known) {
  const uint32_t n_in = e.extras ? e.n_extras : 0;
  uint32_t n_extras = 0, n_texts = 0;
  bool repair = false;
  if (known != nullptr) {
    source_len_ = known->source;
    comm_len_ = known->comm;
  } else {
    source_len_ = e.probe_source ? std::strlen(e.probe_source) : 0;
    comm_len_ = e.guest_comm ? std::strlen(e.guest_comm) : 0;
  }
  size_t strings = source_len_ + 1 + text_bytes({e.guest_comm, comm_len_}, &repair) + 1;
  for (uint32_t i = 0; i < n_in; ++i) {
    const ct_extra& x = e.extras[i];
    if (x.key == nullptr || !known_type(x.value.type)) continue;  // never queue what no sink reads
    ++n_extras;
    strings += text_bytes(x.key, &repair) + 1;
    if (x.value.type == CT_VALUE_TEXT) strings += text_bytes(view(x.value.as.text), &repair);
    if (x.value.type == CT_VALUE_TEXT_LIST) {
      n_texts += x.value.as.list.n;
      for (uint32_t k = 0; k < x.value.as.list.n; ++k)
        strings += text_bytes(view(x.value.as.list.items[k]), &repair);
    }
  }
  n_extras_ = n_extras;
  n_texts_ = n_texts;
  repair_ = repair;
  size_ = align8(sizeof(RecordHeader) + n_extras * sizeof(ct_extra) + n_texts * sizeof(ct_text) +
                 strings);
  return size_;
}

const RecordHeader& RecordBuilder::write(const ct_event& e, void* dst) const {
  const std::string_view source(e.probe_source ? e.probe_source : "", source_len_);
  const std::string_view comm(e.guest_comm ? e.guest_comm : "", comm_len_);
  const uint32_t n_in = e.extras ? e.n_extras : 0;
  auto* const base = static_cast<char*>(dst);
  auto* const h = new (base) RecordHeader{};
  auto* const extras = reinterpret_cast<ct_extra*>(base + sizeof(RecordHeader));
  auto* const texts = reinterpret_cast<ct_text*>(extras + n_extras_);
  char* at = reinterpret_cast<char*>(texts + n_texts_);
  h->n_texts = n_texts_;
  h->event.struct_size = sizeof(ct_event);
  // The padding first, as one word the strings then overwrite in part: a record's bytes are all
  // written (copied whole, compared in tests), and a record is longer than a word.
  char* const end = base + size_;
  std::memset(end - 8, 0, 8);
  h->event.probe_source = at;
  copy_text(at, source.data(), source.size());  // check_event: word characters and dots
  at += source.size();
  *at++ = '\0';
  h->event.guest_pid = e.guest_pid;
  h->event.guest_comm = put(at, comm, true, repair_).ptr;
  h->event.guest_monotonic_ns = e.guest_monotonic_ns;
  h->event.extras = n_extras_ ? extras : nullptr;
  h->event.n_extras = n_extras_;
  uint32_t out = 0, item = 0;
  for (uint32_t i = 0; i < n_in; ++i) {
    const ct_extra& x = e.extras[i];
    if (x.key == nullptr || !known_type(x.value.type)) continue;
    ct_extra& o = extras[out++];
    o = ct_extra{};
    o.key = put(at, x.key, true, repair_).ptr;
    o.value.type = x.value.type;
    switch (x.value.type) {
      case CT_VALUE_UINT:
        o.value.as.u = x.value.as.u;
        break;
      case CT_VALUE_NEGINT:
        o.value.as.i = x.value.as.i;
        break;
      case CT_VALUE_BOOL:
        o.value.as.b = x.value.as.b != 0 ? 1 : 0;
        break;
      case CT_VALUE_TEXT:
        o.value.as.text = put(at, view(x.value.as.text), false, repair_);
        break;
      case CT_VALUE_TEXT_LIST:
        o.value.as.list =
            ct_text_list{x.value.as.list.n ? &texts[item] : nullptr, x.value.as.list.n};
        for (uint32_t k = 0; k < x.value.as.list.n; ++k)
          texts[item++] = put(at, view(x.value.as.list.items[k]), false, repair_);
        break;
    }
  }
  h->size = static_cast<uint32_t>(size_);
  return *h;
}

const RecordHeader& write_plain_record(const ct_event& e, const TextLengths& known, size_t size,
                                       void* dst) {
  auto* const base = static_cast<char*>(dst);
  auto* const h = new (base) RecordHeader{};
  char* at = base + sizeof(RecordHeader);
  std::memset(base + size - 8, 0, 8);  // the padding, as write does
  h->event.struct_size = sizeof(ct_event);
  h->event.probe_source = at;
  copy_text(at, e.probe_source ? e.probe_source : "", known.source);
  at += known.source;
  *at++ = '\0';
  h->event.guest_pid = e.guest_pid;
  h->event.guest_comm = at;
  copy_text(at, e.guest_comm ? e.guest_comm : "", known.comm);
  at[known.comm] = '\0';
  h->event.guest_monotonic_ns = e.guest_monotonic_ns;
  h->size = static_cast<uint32_t>(size);
  return *h;
}

const RecordHeader& copy_record(const RecordHeader& r, void* dst) {
  std::memcpy(dst, &r, r.size);
  auto* const h = static_cast<RecordHeader*>(dst);
  const intptr_t delta = reinterpret_cast<intptr_t>(dst) - reinterpret_cast<intptr_t>(&r);
  move_pointer(h->event.probe_source, delta);
  move_pointer(h->event.guest_comm, delta);
  move_pointer(h->event.extras, delta);
  // The arrays as they are in the copy: extras right after the header, texts after them.
  auto* const extras = reinterpret_cast<ct_extra*>(h + 1);
  for (uint32_t i = 0; i < h->event.n_extras; ++i) {
    ct_extra& x = extras[i];
    move_pointer(x.key, delta);
    if (x.value.type == CT_VALUE_TEXT) move_pointer(x.value.as.text.ptr, delta);
    if (x.value.type == CT_VALUE_TEXT_LIST) move_pointer(x.value.as.list.items, delta);
  }
  auto* const texts = reinterpret_cast<ct_text*>(extras + h->event.n_extras);
  for (uint32_t k = 0; k < h->n_texts; ++k) move_pointer(texts[k].ptr, delta);
  return *h;
}

}  // namespace cellos::telemetry
