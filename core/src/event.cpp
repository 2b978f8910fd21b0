#include "event.hpp"

#include <cellos/telemetry/text.hpp>

#include <cstring>

namespace cellos::telemetry {
namespace {

std::string_view view(const ct_text& t) {
  return t.len == 0 || t.ptr == nullptr ? std::string_view() : std::string_view(t.ptr, t.len);
}

// Appends s to the pool, repaired when it is not valid UTF-8; returns its (offset, length).
std::pair<uint32_t, uint32_t> append_text(std::string& pool, std::string_view s) {
  const auto offset = static_cast<uint32_t>(pool.size());
  if (is_valid_utf8(s)) {
    pool.append(s);
  } else {
    pool.append(repair_utf8(s));
  }
  return {offset, static_cast<uint32_t>(pool.size() - offset)};
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_wire_key(std::string_view k) {
  return k == "content_version" || k == "probe_source" || k == "guest_pid" || k == "guest_comm" ||
         k == "guest_monotonic_ns";
}

}  // namespace

void OwnedEvent::add_uint(std::string_view k, uint64_t v) {
  // Copy on write: a store may already be shared with another sink's copy.
  auto store = extras ? std::make_shared<ExtraStore>(*extras) : std::make_shared<ExtraStore>();
  OwnedExtra x;
  x.key_offset = static_cast<uint32_t>(store->pool.size());
  store->pool.append(k);
  store->pool.push_back('\0');
  x.type = CT_VALUE_UINT;
  x.number = v;
  store->extras.push_back(x);
  extras = std::move(store);
}

OwnedEvent own_event(const ct_event& e) {
  OwnedEvent o;
  o.probe_source = e.probe_source ? e.probe_source : "";
  o.guest_pid = e.guest_pid;
  const std::string_view comm = e.guest_comm ? e.guest_comm : "";
  o.guest_comm = is_valid_utf8(comm) ? std::string(comm) : repair_utf8(comm);
  o.guest_monotonic_ns = e.guest_monotonic_ns;
  if (e.n_extras == 0 || e.extras == nullptr) return o;

  // One reservation for the pool and the spans: check_event bounds what they can hold.
  size_t bytes = 0, n_texts = 0;
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const ct_extra& x = e.extras[i];
    bytes += (x.key ? std::string_view(x.key).size() : 0) + 1;
    if (x.value.type == CT_VALUE_TEXT) {
      bytes += x.value.as.text.len;
      ++n_texts;
    } else if (x.value.type == CT_VALUE_TEXT_LIST) {
      for (uint32_t k = 0; k < x.value.as.list.n; ++k) bytes += x.value.as.list.items[k].len;
      n_texts += x.value.as.list.n;
    }
  }
  auto store = std::make_shared<ExtraStore>();
  ExtraStore& st = *store;
  st.pool.reserve(bytes);
  st.texts.reserve(n_texts);
  st.extras.reserve(e.n_extras);
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const ct_extra& x = e.extras[i];
    if (x.key == nullptr) continue;
    OwnedExtra ox;
    ox.key_offset = static_cast<uint32_t>(st.pool.size());
    st.pool.append(x.key);
    st.pool.push_back('\0');
    ox.type = x.value.type;
    switch (x.value.type) {
      case CT_VALUE_UINT:
        ox.number = x.value.as.u;
        break;
      case CT_VALUE_NEGINT:
        ox.number = static_cast<uint64_t>(x.value.as.i);
        break;
      case CT_VALUE_BOOL:
        ox.number = x.value.as.b != 0 ? 1 : 0;
        break;
      case CT_VALUE_TEXT:
        ox.first_text = static_cast<uint32_t>(st.texts.size());
        ox.n_texts = 1;
        st.texts.push_back(append_text(st.pool, view(x.value.as.text)));
        break;
      case CT_VALUE_TEXT_LIST:
        ox.first_text = static_cast<uint32_t>(st.texts.size());
        ox.n_texts = x.value.as.list.n;
        for (uint32_t k = 0; k < x.value.as.list.n; ++k) {
          st.texts.push_back(append_text(st.pool, view(x.value.as.list.items[k])));
        }
        break;
      default:
        continue;  // check_event refuses unknown types; never queue what no sink could read
    }
    st.extras.push_back(ox);
  }
  o.extras = std::move(store);
  return o;
}

namespace {

// One queued extra as the boundary's ct_extra; texts holds the store's texts as ct_text.
ct_extra view_of(const ExtraStore& st, const OwnedExtra& x, const std::vector<ct_text>& texts) {
  ct_extra c{};
  c.key = st.pool.c_str() + x.key_offset;
  c.value.type = x.type;
  switch (x.type) {
    case CT_VALUE_NEGINT:
      c.value.as.i = static_cast<int64_t>(x.number);
      break;
    case CT_VALUE_BOOL:
      c.value.as.b = static_cast<int>(x.number);
      break;
    case CT_VALUE_TEXT:
      c.value.as.text = texts[x.first_text];
      break;
    case CT_VALUE_TEXT_LIST:
      c.value.as.list = ct_text_list{x.n_texts ? &texts[x.first_text] : nullptr, x.n_texts};
      break;
    default:
      c.value.as.u = x.number;
  }
  return c;
}

}  // namespace

void EventView::point_at(const OwnedEvent& e) {
  extras.clear();
  texts.clear();
  if (e.extras) {
    const ExtraStore& st = *e.extras;
    for (const auto& [offset, length] : st.texts) {
      texts.push_back(ct_text{st.pool.data() + offset, length});
    }
    for (const OwnedExtra& x : st.extras) extras.push_back(view_of(st, x, texts));
  }
  event = ct_event{sizeof(ct_event),
                   e.probe_source.c_str(),
                   e.guest_pid,
                   e.guest_comm.c_str(),
                   e.guest_monotonic_ns,
                   extras.empty() ? nullptr : extras.data(),
                   static_cast<uint32_t>(extras.size())};
}

namespace {

std::string check_value(std::string_view key, const ct_value& v, size_t* text_bytes) {
  const auto check_text = [&](const ct_text& t, const char* what) -> std::string {
    if (t.len > 0 && t.ptr == nullptr) return "extra '" + std::string(key) + "': null " + what;
    if (t.len > CT_MAX_TEXT_BYTES) {
      return "extra '" + std::string(key) + "': " + what + " of " + std::to_string(t.len) +
             " bytes (at most " + std::to_string(CT_MAX_TEXT_BYTES) + ")";
    }
    *text_bytes += t.len;
    return "";
  };
  switch (v.type) {
    case CT_VALUE_UINT:
    case CT_VALUE_BOOL:
      return "";
    case CT_VALUE_NEGINT:
      if (v.as.i >= 0) {
        return "extra '" + std::string(key) + "': negative integer " + std::to_string(v.as.i) +
               " is not negative (use CT_VALUE_UINT)";
      }
      return "";
    case CT_VALUE_TEXT:
      return check_text(v.as.text, "text");
    case CT_VALUE_TEXT_LIST: {
      const ct_text_list& l = v.as.list;
      if (l.n > CT_MAX_LIST_ITEMS) {
        return "extra '" + std::string(key) + "': list of " + std::to_string(l.n) +
               " items (at most " + std::to_string(CT_MAX_LIST_ITEMS) + ")";
      }
      if (l.n > 0 && l.items == nullptr) return "extra '" + std::string(key) + "': null list";
      for (uint32_t k = 0; k < l.n; ++k) {
        std::string why = check_text(l.items[k], "list item");
        if (!why.empty()) return why;
      }
      return "";
    }
    default:
      return "extra '" + std::string(key) + "': unknown value type " + std::to_string(v.type);
  }
}

}  // namespace

std::string check_event(const ct_event& e) {
  if (e.struct_size < CT_EVENT_SIZE_2_0) {
    return "event struct_size " + std::to_string(e.struct_size) + " (an ABI 2 event has at least " +
           std::to_string(CT_EVENT_SIZE_2_0) + ")";
  }
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
  return check_event_after_source(e);
}

std::string check_event_after_source(const ct_event& e, size_t* comm_len) {
  if (e.struct_size < CT_EVENT_SIZE_2_0) return check_event(e);
  // strnlen: a comm is checked without reading more of it than the limit and one byte.
  const size_t comm = e.guest_comm ? strnlen(e.guest_comm, CT_COMM_MAX_BYTES + 1) : 0;
  if (comm_len != nullptr) *comm_len = comm;
  if (comm > CT_COMM_MAX_BYTES) {
    return "guest_comm of " + std::to_string(std::string_view(e.guest_comm).size()) +
           " bytes (the kernel's comm is at most " + std::to_string(CT_COMM_MAX_BYTES) + ")";
  }
  if (e.n_extras > CT_MAX_EXTRAS || (e.n_extras > 0 && e.extras == nullptr)) {
    return std::to_string(e.n_extras) + " extra keys (at most " + std::to_string(CT_MAX_EXTRAS) +
           ")";
  }
  size_t text_bytes = 0;
  for (uint32_t i = 0; i < e.n_extras; ++i) {
    const char* k = e.extras[i].key;
    const std::string_view key = k ? k : "";
    // seq is the sinks' (the frame's number in its stream: sinks/vsock/README.md).
    bool ok = !key.empty() && key.size() <= 32 && !is_wire_key(key) && key != "extras_truncated" &&
              key != "seq";
    for (const char c : key) ok = ok && is_word_char(c);
    if (!ok) return "extra key '" + std::string(key.substr(0, 40)) + "' is not allowed";
    for (uint32_t j = 0; j < i; ++j) {  // at most 32 keys: quadratic is cheaper than a set
      if (key == e.extras[j].key) return "extra key '" + std::string(key) + "' is repeated";
    }
    std::string why = check_value(key, e.extras[i].value, &text_bytes);
    if (!why.empty()) return why;
  }
  if (text_bytes > CT_MAX_EXTRAS_TEXT_BYTES) {
    return "extras hold " + std::to_string(text_bytes) + " bytes of text (at most " +
           std::to_string(CT_MAX_EXTRAS_TEXT_BYTES) + ")";
  }
  return "";
}

}  // namespace cellos::telemetry
