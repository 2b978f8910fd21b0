#include "frame_encoder.hpp"

#include <cbor.h>

#include <cstring>
#include <stdexcept>

#include "utf8_text.hpp"

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

}  // namespace

size_t encode_frame(const ct_event& e, std::span<uint8_t> out) {
  if (out.size() < kMaxFrameBytes) {
    throw std::invalid_argument("encode_frame: the output must hold kMaxFrameBytes");
  }
  uint8_t* const body = out.data() + kLengthPrefixBytes;
  BodyWriter w(body, kMaxBodyBytes);
  const ct_extra* extras = e.n_extras > 0 ? e.extras : nullptr;
  const size_t n_extras = extras ? e.n_extras : 0;
  w.map(kWireKeys.size() + n_extras);
  w.text(kWireKeys[0]);
  w.uint(n_extras ? kContentVersionWithExtras : kContentVersion);
  w.text(kWireKeys[1]);
  w.text(e.probe_source);
  w.text(kWireKeys[2]);
  w.uint(e.guest_pid);
  w.text(kWireKeys[3]);
  w.text(e.guest_comm);
  w.text(kWireKeys[4]);
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
