#include "frame_encoder.hpp"

#include <cellos/telemetry/text.hpp>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace cellos::telemetry::wire {
namespace {

// The head of a CBOR item (major type, then its argument) in the shortest form, RFC 8949
// section 4.2.1 (preferred serialization): the argument in the initial byte below 24, else in
// 1, 2, 4 or 8 big-endian bytes after it. Written here rather than with libcbor's streaming
// encoders: a call into a shared library per item was about 6% of the agent's time per event
// (perf, bench/throughput), and libcbor now stays out of the agent's
// memory altogether. The decoder, written apart, still uses libcbor: each checks
// the other (FrameEncoderGolden.*, the round-trip fuzzer).
inline size_t head_size(uint64_t argument) {
  return argument < 24             ? 1
         : argument <= 0xFF        ? 2
         : argument <= 0xFFFF      ? 3
         : argument <= 0xFFFFFFFFu ? 5
                                   : 9;
}

inline uint16_t to_big_endian(uint16_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap16(v) : v;
}
inline uint32_t to_big_endian(uint32_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
}
inline uint64_t to_big_endian(uint64_t v) {
  return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
}
template <typename T>
inline void store_big_endian(uint8_t* p, T v) {
  v = to_big_endian(v);
  std::memcpy(p, &v, sizeof v);
}

// Writes the head at p if it fits in room bytes; returns its size, or 0 when it does not fit.
inline size_t encode_head(uint8_t major, uint64_t argument, uint8_t* p, size_t room) {
  const size_t n = head_size(argument);
  if (n > room) return 0;
  const auto initial = static_cast<uint8_t>(major << 5);
  if (n == 1) {
    p[0] = static_cast<uint8_t>(initial | argument);
    return 1;
  }
  // Additional information 24, 25, 26, 27: 1, 2, 4, 8 bytes follow, big-endian.
  switch (n) {
    case 2:
      p[0] = static_cast<uint8_t>(initial | 24);
      p[1] = static_cast<uint8_t>(argument);
      break;
    case 3:
      p[0] = static_cast<uint8_t>(initial | 25);
      store_big_endian(p + 1, static_cast<uint16_t>(argument));
      break;
    case 5:
      p[0] = static_cast<uint8_t>(initial | 26);
      store_big_endian(p + 1, static_cast<uint32_t>(argument));
      break;
    default:
      p[0] = static_cast<uint8_t>(initial | 27);
      store_big_endian(p + 1, argument);
  }
  return n;
}

constexpr uint8_t kMajorUint = 0, kMajorNegint = 1, kMajorText = 3, kMajorArray = 4, kMajorMap = 5;
constexpr uint8_t kFalse = 0xF4, kTrue = 0xF5;  // major type 7, simple values 20 and 21

// Appends CBOR items to the body, integers and lengths in their shortest form. Running out of
// room means the body is over kMaxBodyBytes; the writer then stays failed.
class BodyWriter {
 public:
  BodyWriter(uint8_t* begin, size_t capacity) : pos_(begin), end_(begin + capacity) {}

  void map(size_t n) { head(kMajorMap, n); }
  void array(size_t n) { head(kMajorArray, n); }
  void uint(uint64_t v) { head(kMajorUint, v); }
  // Major type 1 carries -1 - v: -1 is 0x20, -24 is 0x37, -25 is 0x38 0x18.
  void negint(int64_t v) { head(kMajorNegint, static_cast<uint64_t>(-(v + 1))); }
  void boolean(bool v) {
    if (ok_ && room() >= 1) {
      *pos_++ = v ? kTrue : kFalse;
    } else {
      ok_ = false;
    }
  }
  void text(const char* s) { text(std::string_view(s ? s : "")); }
  void text(std::string_view s) {
    if (is_valid_utf8(s)) {
      valid_text(s);
    } else {
      valid_text(repair_utf8(s));
    }
  }

  // Bytes that never change, written as one copy instead of item by item.
  void constant(std::span<const uint8_t> bytes) {
    if (!ok_ || bytes.size() > room()) {
      ok_ = false;
      return;
    }
    std::memcpy(pos_, bytes.data(), bytes.size());
    pos_ += bytes.size();
  }

  bool ok() const { return ok_; }
  uint8_t* pos() const { return pos_; }

 private:
  void valid_text(std::string_view s) {
    head(kMajorText, s.size());
    if (!ok_ || s.size() > room()) {
      ok_ = false;
      return;
    }
    // An empty text may come as {nullptr, 0}, which memcpy must not be handed.
    if (!s.empty()) std::memcpy(pos_, s.data(), s.size());
    pos_ += s.size();
  }
  size_t room() const { return static_cast<size_t>(end_ - pos_); }
  void head(uint8_t major, uint64_t argument) {
    advance(ok_ ? encode_head(major, argument, pos_, room()) : 0);
  }
  void advance(size_t written) {
    if (written == 0) {
      ok_ = false;
    } else {
      pos_ += written;
    }
  }

  uint8_t* pos_;
  uint8_t* end_;
  bool ok_ = true;
};

// The constant runs of a frame without extras, encoded once by the same writer:
//   map(5) "content_version" 0x0100 "probe_source" | "guest_pid" | "guest_comm" |
//   "guest_monotonic_ns"
// Most events have no extras, and copying these beats re-encoding eight items every time.
struct ConstantRuns {
  std::array<uint8_t, 128> storage{};  // 73 bytes used
  std::span<const uint8_t> head, pid_key, comm_key, ns_key;

  ConstantRuns() {
    uint8_t* p = storage.data();
    const auto run = [&](auto&& write) {
      BodyWriter w(p, static_cast<size_t>(storage.data() + storage.size() - p));
      write(w);
      if (!w.ok()) throw std::logic_error("frame encoder: constant runs do not fit");
      const std::span<const uint8_t> r(p, static_cast<size_t>(w.pos() - p));
      p = w.pos();
      return r;
    };
    head = run([](BodyWriter& w) {
      w.map(kWireKeys.size());
      w.text(kWireKeys[0]);
      w.uint(kContentVersion);
      w.text(kWireKeys[1]);
    });
    pid_key = run([](BodyWriter& w) { w.text(kWireKeys[2]); });
    comm_key = run([](BodyWriter& w) { w.text(kWireKeys[3]); });
    ns_key = run([](BodyWriter& w) { w.text(kWireKeys[4]); });
  }
};

// Sizes in bytes of what BodyWriter writes (head_size above), so that the cut is planned
// before anything is.
// A text item after repair: each maximal invalid subpart becomes U+FFFD (3 bytes).
size_t text_size(std::string_view s) {
  size_t n = 0, maximal = 0;
  for (size_t i = 0; i < s.size();) {
    const size_t len = text_detail::sequence_length(s, i, &maximal);
    n += len == 0 ? 3 : len;
    i += len == 0 ? maximal : len;
  }
  return head_size(n) + n;
}
size_t text_size(const char* s) {
  return text_size(std::string_view(s ? s : ""));
}
std::string_view view(const ct_text& t) {
  return t.len == 0 || t.ptr == nullptr ? std::string_view() : std::string_view(t.ptr, t.len);
}

// What this encoder writes; anything else is skipped (a type from a newer minor, or a "negative"
// that is not: the core refuses both, but the encoder does not trust its caller).
bool known(const ct_extra& x) {
  if (x.key == nullptr) return false;
  if (x.value.type == CT_VALUE_NEGINT) return x.value.as.i < 0;
  return x.value.type >= CT_VALUE_UINT && x.value.type <= CT_VALUE_TEXT_LIST;
}

// One extra as it will be written: for a list, how many of its items are kept.
// No default member initializers: the encoder's array of them must cost nothing to declare.
struct Planned {
  const ct_extra* extra;
  uint32_t items;
  size_t key, payload;  // encoded key; list: its items' bytes
  size_t size() const {
    const ct_value& v = extra->value;
    switch (v.type) {
      case CT_VALUE_UINT:
        return key + head_size(v.as.u);
      case CT_VALUE_NEGINT:
        return key + head_size(static_cast<uint64_t>(-(v.as.i + 1)));
      case CT_VALUE_BOOL:
        return key + 1;
      case CT_VALUE_TEXT:
        return key + payload;
      default:
        return key + head_size(items) + payload;
    }
  }
};

// Room for twice the extras the core allows; the encoder does not trust its caller, and extras
// beyond this are cut like any others.
constexpr size_t kMaxPlanned = 2 * CT_MAX_EXTRAS;

void write_value(BodyWriter& w, const Planned& p) {
  const ct_value& v = p.extra->value;
  switch (v.type) {
    case CT_VALUE_UINT:
      w.uint(v.as.u);
      break;
    case CT_VALUE_NEGINT:
      w.negint(v.as.i);
      break;
    case CT_VALUE_BOOL:
      w.boolean(v.as.b != 0);
      break;
    case CT_VALUE_TEXT:
      w.text(view(v.as.text));
      break;
    default:
      w.array(p.items);
      for (uint32_t k = 0; k < p.items; ++k) w.text(view(v.as.list.items[k]));
  }
}

// The frame of an event without extras whose probe_source and comm are ASCII, as the general
// path below writes it, byte for byte (FrameEncoderFastPath.*), written straight to memory:
// nearly every event is one, and the general path's item-by-item writer, UTF-8 checks and size
// plan cost more than the rest of the agent's path per event (perf, bench/throughput). Returns
// 0, having written nothing that counts, when the event is not one of those.
class FastFrame {
 public:
  FastFrame() {
    // The constant runs, encoded once by the general writer; their sizes are known (RFC 8949
    // by hand: map head 1, "content_version" 16, 0x0100 3, "probe_source" 13), so each is
    // copied with a fixed-size copy the compiler inlines.
    const auto run = [](auto& into, auto&& write) {
      BodyWriter w(into.data(), into.size());
      write(w);
      if (!w.ok() || static_cast<size_t>(w.pos() - into.data()) != into.size()) {
        throw std::logic_error("frame encoder: a constant run is not the size expected");
      }
    };
    run(head5_, [](BodyWriter& w) {
      w.map(kWireKeys.size());
      w.text(kWireKeys[0]);
      w.uint(kContentVersion);
      w.text(kWireKeys[1]);
    });
    run(head6_, [](BodyWriter& w) {
      w.map(kWireKeys.size() + 1);
      w.text(kWireKeys[0]);
      w.uint(kContentVersionWithExtras);
      w.text(kWireKeys[1]);
    });
    run(pid_key_, [](BodyWriter& w) { w.text(kWireKeys[2]); });
    run(comm_key_, [](BodyWriter& w) { w.text(kWireKeys[3]); });
    run(ns_key_, [](BodyWriter& w) { w.text(kWireKeys[4]); });
    run(seq_key_, [](BodyWriter& w) { w.text(kSeqKey); });
  }

  size_t encode(const ct_event& e, const uint64_t* seq, uint8_t* out) const {
    if (e.extras != nullptr && e.n_extras != 0) return 0;
    uint8_t* p = out + kLengthPrefixBytes;
    p = copy(p, seq ? head6_ : head5_);
    p = text(p, e.probe_source);
    if (p == nullptr) return 0;
    p = copy(p, pid_key_);
    p = uint(p, e.guest_pid);
    p = copy(p, comm_key_);
    p = text(p, e.guest_comm);
    if (p == nullptr) return 0;
    p = copy(p, ns_key_);
    p = uint(p, e.guest_monotonic_ns);
    if (seq != nullptr) {
      p = copy(p, seq_key_);
      p = uint(p, *seq);
    }
    const auto length = static_cast<uint32_t>(p - out - kLengthPrefixBytes);
    for (size_t i = 0; i < kLengthPrefixBytes; ++i)
      out[i] = static_cast<uint8_t>(length >> (8 * i));
    return kLengthPrefixBytes + length;
  }

 private:
  template <size_t N>
  static uint8_t* copy(uint8_t* p, const std::array<uint8_t, N>& run) {
    std::memcpy(p, run.data(), N);
    return p + N;
  }
  static uint8_t* uint(uint8_t* p, uint64_t v) { return p + encode_head(kMajorUint, v, p, 9); }
  // The text s as CBOR, measured by strlen and then checked and copied in words (loads never
  // leave [s, s + n): a short text is two overlapping words); nullptr when it is not ASCII or
  // is longer than kMaxText (the general path then writes the whole frame).
  static constexpr size_t kMaxText = 1024;  // with the rest, far within kMaxBodyBytes
  static uint8_t* text(uint8_t* p, const char* s) {
    if (s == nullptr) s = "";
    const size_t n = std::strlen(s);
    if (n > kMaxText) return nullptr;
    p += encode_head(kMajorText, n, p, 9);
    uint64_t any = 0;
    if (n >= 8) {
      for (size_t i = 0; i + 8 < n; i += 8) any |= copy_word<uint64_t>(p + i, s + i);
      any |= copy_word<uint64_t>(p + n - 8, s + n - 8);
    } else if (n >= 4) {
      any |= copy_word<uint32_t>(p, s) | copy_word<uint32_t>(p + n - 4, s + n - 4);
    } else {
      for (size_t i = 0; i < n; ++i) any |= p[i] = static_cast<uint8_t>(s[i]);
    }
    if ((any & 0x8080808080808080ull) != 0) return nullptr;
    return p + n;
  }
  template <typename Word>
  static uint64_t copy_word(uint8_t* to, const char* from) {
    Word w;
    std::memcpy(&w, from, sizeof w);
    std::memcpy(to, &w, sizeof w);
    return w;
  }

  std::array<uint8_t, 1 + 16 + 3 + 13> head5_{}, head6_{};
  std::array<uint8_t, 10> pid_key_{};
  std::array<uint8_t, 11> comm_key_{};
  std::array<uint8_t, 19> ns_key_{};
  std::array<uint8_t, 4> seq_key_{};
};

// Built when the library is loaded, not on first use: a function-local static costs a guard
// check on every call, and the fast path below is called for nearly every event. Nothing
// encodes a frame while libraries are still being initialised.
const FastFrame kFast;
const ConstantRuns kRuns;

[[noreturn, gnu::noinline, gnu::cold]] void output_too_small() {
  throw std::invalid_argument("encode_frame: the output must hold kMaxFrameBytes");
}

// Everything but the fast path: its plan of up to 64 extras makes a frame of 2 KiB on the stack
// and saves five registers, which the fast path, kept out of this function, does not pay for.
[[gnu::noinline]] size_t encode_general(const ct_event& e, const uint64_t* seq,
                                        std::span<uint8_t> out, bool* truncated) {
  const ConstantRuns& runs = kRuns;
  uint8_t* const body = out.data() + kLengthPrefixBytes;
  BodyWriter w(body, kMaxBodyBytes);

  // Plan the extras: which are written, and whether they must be cut to fit.
  std::array<Planned, kMaxPlanned> plan;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  size_t kept = 0;
  bool cut = false;
  for (uint32_t i = 0; e.extras != nullptr && i < e.n_extras; ++i) {
    const ct_extra& x = e.extras[i];
    if (!known(x) || (seq != nullptr && kSeqKey == x.key)) continue;
    if (kept == plan.size()) {
      cut = true;
      break;
    }
    Planned& p = plan[kept++];
    p = Planned{&x, 0, text_size(x.key), 0};
    if (x.value.type == CT_VALUE_TEXT) p.payload = text_size(view(x.value.as.text));
    if (x.value.type == CT_VALUE_TEXT_LIST && x.value.as.list.items != nullptr) {
      p.items = x.value.as.list.n;
      for (uint32_t k = 0; k < p.items; ++k) p.payload += text_size(view(x.value.as.list.items[k]));
    }
  }
  // Most events have no extras: they skip the plan, and the writer alone bounds the body.
  if (kept > 0 || cut) {
    // The five keys' values (their keys and the version are constant: 16+3, 13, 10, 11, 19).
    const size_t base = 16 + 3 + 13 + text_size(e.probe_source) + 10 + head_size(e.guest_pid) + 11 +
                        text_size(e.guest_comm) + 19 + head_size(e.guest_monotonic_ns);
    const size_t flag = text_size(kExtrasTruncatedKey) + 1;
    const size_t seq_pair = seq != nullptr ? text_size(kSeqKey) + head_size(*seq) : 0;
    size_t extras_size = 0;
    for (size_t i = 0; i < kept; ++i) extras_size += plan[i].size();
    const auto total = [&] {
      return head_size(kWireKeys.size() + (seq ? 1 : 0) + kept + (cut ? 1 : 0)) + base + seq_pair +
             extras_size + (cut ? flag : 0);
    };
    if (total() > kMaxBodyBytes) cut = true;
    // List items from the end, the last list first; then whole extras from the end.
    for (size_t i = kept; i-- > 0 && total() > kMaxBodyBytes;) {
      Planned& p = plan[i];
      if (p.extra->value.type != CT_VALUE_TEXT_LIST) continue;
      while (p.items > 0 && total() > kMaxBodyBytes) {
        const size_t before = p.size();
        p.payload -= text_size(view(p.extra->value.as.list.items[--p.items]));
        extras_size -= before - p.size();
      }
    }
    while (kept > 0 && total() > kMaxBodyBytes) extras_size -= plan[--kept].size();
    if (total() > kMaxBodyBytes) return 0;
  }
  if (truncated != nullptr) *truncated = cut;

  const size_t pairs = (seq != nullptr ? 1 : 0) + kept + (cut ? 1 : 0);
  if (pairs == 0) {
    w.constant(runs.head);
  } else {
    w.map(kWireKeys.size() + pairs);
    w.text(kWireKeys[0]);
    w.uint(kContentVersionWithExtras);
    w.text(kWireKeys[1]);
  }
  w.text(e.probe_source);
  w.constant(runs.pid_key);
  w.uint(e.guest_pid);
  w.constant(runs.comm_key);
  w.text(e.guest_comm);
  w.constant(runs.ns_key);
  w.uint(e.guest_monotonic_ns);
  if (seq != nullptr) {
    w.text(kSeqKey);
    w.uint(*seq);
  }
  for (size_t i = 0; i < kept; ++i) {
    w.text(plan[i].extra->key);
    write_value(w, plan[i]);
  }
  if (cut) {
    w.text(kExtrasTruncatedKey);
    w.boolean(true);
  }
  if (!w.ok()) return 0;
  const auto length = static_cast<uint32_t>(w.pos() - body);
  for (size_t i = 0; i < kLengthPrefixBytes; ++i) {
    out[i] = static_cast<uint8_t>(length >> (8 * i));  // little-endian whatever the host order
  }
  return kLengthPrefixBytes + length;
}

inline size_t encode(const ct_event& e, const uint64_t* seq, std::span<uint8_t> out,
                     bool* truncated) {
  if (out.size() < kMaxFrameBytes) output_too_small();
  if (const size_t n = kFast.encode(e, seq, out.data())) {
    if (truncated != nullptr) *truncated = false;
    return n;
  }
  return encode_general(e, seq, out, truncated);
}

}  // namespace

size_t encode_frame(const ct_event& e, std::span<uint8_t> out, bool* truncated) {
  return encode(e, nullptr, out, truncated);
}

size_t encode_frame(const ct_event& e, uint64_t seq, std::span<uint8_t> out, bool* truncated) {
  return encode(e, &seq, out, truncated);
}

std::string encode_frame(const ct_event& e) {
  std::array<uint8_t, kMaxFrameBytes> buffer;
  const size_t n = encode_frame(e, buffer);
  return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

std::string encode_frame(const ct_event& e, uint64_t seq) {
  std::array<uint8_t, kMaxFrameBytes> buffer;
  const size_t n = encode_frame(e, seq, buffer);
  return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

}  // namespace cellos::telemetry::wire
