#include "frame_encoder.hpp"

#include <cellos/telemetry/text.hpp>

#include <cbor.h>

#include <cstring>
#include <stdexcept>

namespace cellos::telemetry::wire {
namespace {

// Appends CBOR items to the body with libcbor's streaming encoders, which pick the shortest
// integer and length forms (RFC 8949 preferred serialization). Running out of room means the
// body is over kMaxBodyBytes; the writer then stays failed.
class BodyWriter {
 public:
  BodyWriter(uint8_t* begin, size_t capacity) : pos_(begin), end_(begin + capacity) {}

  void map(size_t n) { advance(ok_ ? cbor_encode_map_start(n, pos_, room()) : 0); }
  void uint(uint64_t v) { advance(ok_ ? cbor_encode_uint(v, pos_, room()) : 0); }
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
    advance(ok_ ? cbor_encode_string_start(s.size(), pos_, room()) : 0);
    if (!ok_ || s.size() > room()) {
      ok_ = false;
      return;
    }
    std::memcpy(pos_, s.data(), s.size());
    pos_ += s.size();
  }
  size_t room() const { return static_cast<size_t>(end_ - pos_); }
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

}  // namespace

size_t encode_frame(const ct_event& e, std::span<uint8_t> out) {
  if (out.size() < kMaxFrameBytes) {
    throw std::invalid_argument("encode_frame: the output must hold kMaxFrameBytes");
  }
  static const ConstantRuns runs;
  uint8_t* const body = out.data() + kLengthPrefixBytes;
  BodyWriter w(body, kMaxBodyBytes);
  const ct_extra* extras = e.n_extras > 0 ? e.extras : nullptr;
  const size_t n_extras = extras ? e.n_extras : 0;
  if (n_extras == 0) {
    w.constant(runs.head);
  } else {
    w.map(kWireKeys.size() + n_extras);
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
  for (size_t i = 0; i < n_extras; ++i) {
    w.text(extras[i].key);
    w.uint(extras[i].value);
  }
  if (!w.ok()) return 0;
  const auto length = static_cast<uint32_t>(w.pos() - body);
  for (size_t i = 0; i < kLengthPrefixBytes; ++i) {
    out[i] = static_cast<uint8_t>(length >> (8 * i));  // little-endian whatever the host order
  }
  return kLengthPrefixBytes + length;
}

std::string encode_frame(const ct_event& e) {
  std::array<uint8_t, kMaxFrameBytes> buffer;
  const size_t n = encode_frame(e, buffer);
  return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

}  // namespace cellos::telemetry::wire
