#include "frame_decoder.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <vector>

#include "frame_limits.hpp"

namespace cellos::telemetry::wire {
namespace {

constexpr std::array<std::string_view, 5> kKeys = {"content_version", "probe_source", "guest_pid",
                                                   "guest_comm", "guest_monotonic_ns"};

// What an item is, for refusals only: built into a string only when a frame is refused, so
// that reading an extra costs no formatting. Either plain text, "key N", 'KEY' or 'KEY' item N.
struct Label {
  Label(const char* text) : text(text) {}  // NOLINT: implicit, as the literals it replaces
  static Label key_number(uint64_t n) {
    Label l("key ");
    l.number = n;
    return l;
  }
  static Label quoted(std::string_view key) {
    Label l("");
    l.text = key;
    l.quote = true;
    return l;
  }
  // 'KEY' item N: the Nth text of a list.
  static Label list_item(std::string_view key, uint64_t n) {
    Label l = quoted(key);
    l.number = n;
    return l;
  }
  std::string str() const {
    if (quote) {
      return "'" + std::string(text) + "'" + (number ? " item " + std::to_string(number) : "");
    }
    return number ? std::string(text) + std::to_string(number) : std::string(text);
  }
  std::string_view text;
  uint64_t number = 0;
  bool quote = false;
};

// The keys of a frame with extras, as views into the body, in an open-addressing table twice
// the size of the map: one hash and nearly always one probe per key, one allocation per frame.
// (Keys built to collide cost at most kMaxExtras probes each: bounded, like the map.)
class KeySet {
 public:
  explicit KeySet(size_t keys) : slots_(std::bit_ceil(2 * keys)) {}
  bool insert(std::string_view key) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = std::hash<std::string_view>{}(key)&mask;; i = (i + 1) & mask) {
      if (slots_[i].data() == nullptr) {  // empty: a key read from the body is never null
        slots_[i] = key;
        return true;
      }
      if (slots_[i] == key) return false;
    }
  }

 private:
  std::vector<std::string_view> slots_;
};

// Refusing a frame unwinds the decoder with its reason.
struct Refused {
  std::string reason;
};

const char* major_name(int major) {
  static const char* const kNames[] = {
      "an unsigned integer", "a negative integer", "bytes", "text", "an array", "a map", "a tag",
      "a simple value"};
  return kNames[major];
}

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

  struct Head {
    int major = 0;
    uint64_t argument = 0;
  };

  // One item's initial byte and argument, held to RFC 8949's preferred serialization.
  Head head(const Label& what) {
    const uint8_t initial = byte(what);
    Head h;
    h.major = initial >> 5;
    const uint8_t info = initial & 0x1F;
    if (h.major == 6) throw Refused{"tag: " + what.str() + " is tagged"};
    if (h.major == 7) {
      if (info >= 25 && info <= 27) throw Refused{"float: " + what.str() + " is a float"};
      throw Refused{"wrong type: " + what.str() + " is a simple value"};
    }
    if (info < 24) {
      h.argument = info;
    } else if (info <= 27) {
      const int n = 1 << (info - 24);  // 1, 2, 4 or 8 bytes, big-endian
      for (int i = 0; i < n; ++i) h.argument = (h.argument << 8) | byte(what);
      static constexpr uint64_t kSmallest[] = {24, 0x100, 0x10000, 0x100000000ull};
      if (h.argument < kSmallest[info - 24]) {
        throw Refused{"non-shortest encoding: " + what.str() + " (" + std::to_string(h.argument) +
                      ") uses " + std::to_string(n) + " argument byte(s)"};
      }
    } else if (info == 31) {
      throw Refused{"indefinite length: " + what.str()};
    } else {
      throw Refused{"reserved encoding: " + what.str() + " uses additional information " +
                    std::to_string(info)};
    }
    return h;
  }

  uint64_t unsigned_int(const Label& what) {
    const Head h = head(what);
    if (h.major != 0) {
      throw Refused{"wrong type: " + what.str() + " must be an unsigned integer, not " +
                    major_name(h.major)};
    }
    return h.argument;
  }

  // The text an item's head announced, validated, as a view into the body.
  std::string_view text_after(const Head& h, const Label& what) {
    if (h.argument > remaining()) {
      throw Refused{"truncated: " + what.str() + " claims " + std::to_string(h.argument) +
                    " bytes, " + std::to_string(remaining()) + " left"};
    }
    const std::string_view s(reinterpret_cast<const char*>(bytes_.data() + pos_), h.argument);
    pos_ += h.argument;
    if (!valid_utf8(s)) throw Refused{"invalid UTF-8: " + what.str()};
    return s;
  }

  std::string_view text(const Label& what) {
    const Head h = head(what);
    if (h.major != 3) {
      throw Refused{"wrong type: " + what.str() + " must be text, not " + major_name(h.major)};
    }
    return text_after(h, what);
  }

  // true or false (simple values 20 and 21) when the next item is one; it is then consumed.
  std::optional<bool> boolean() {
    if (pos_ < bytes_.size() && (bytes_[pos_] == 0xF4 || bytes_[pos_] == 0xF5)) {
      return bytes_[pos_++] == 0xF5;
    }
    return std::nullopt;
  }

  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  uint8_t byte(const Label& what) {
    if (pos_ >= bytes_.size()) throw Refused{"truncated: body ends inside " + what.str()};
    return bytes_[pos_++];
  }

  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

void expect_key(Reader& r, size_t index) {
  const Label label = Label::key_number(index + 1);
  const std::string_view key = r.text(label);
  if (key != kKeys[index]) {
    throw Refused{"key order: expected '" + std::string(kKeys[index]) + "' as " + label.str() +
                  ", got '" + std::string(key) + "'"};
  }
}

// One extra's value: exactly the types of ABI 2 (wire revision 1.1), each in its shortest form.
ExtraValue extra_value(Reader& r, std::string_view key) {
  const Label what = Label::quoted(key);
  ExtraValue v;
  if (const auto b = r.boolean()) {
    v.type = ExtraValue::kBool;
    v.number = *b ? 1 : 0;
    return v;
  }
  const Reader::Head h = r.head(what);
  switch (h.major) {
    case 0:
      v.number = h.argument;
      break;
    case 1:
      // -1 - argument; the boundary carries int64_t, so anything below INT64_MIN is refused.
      if (h.argument > static_cast<uint64_t>(INT64_MAX)) {
        throw Refused{"out of range: " + what.str() + " is below -2^63"};
      }
      v.type = ExtraValue::kNegative;
      v.negative = -1 - static_cast<int64_t>(h.argument);
      break;
    case 3:
      v.type = ExtraValue::kText;
      v.text = r.text_after(h, what);
      break;
    case 4:
      v.type = ExtraValue::kTextList;
      // Each item takes at least one byte: a longer claim is refused before anything grows.
      if (h.argument > r.remaining()) {
        throw Refused{"truncated: " + what.str() + " claims " + std::to_string(h.argument) +
                      " items, " + std::to_string(r.remaining()) + " bytes left"};
      }
      v.list.reserve(h.argument);
      for (uint64_t k = 0; k < h.argument; ++k) {
        const Label item = Label::list_item(key, k + 1);
        const Reader::Head ih = r.head(item);
        if (ih.major != 3) {
          throw Refused{"wrong type: " + item.str() + " must be text, not " + major_name(ih.major)};
        }
        v.list.emplace_back(r.text_after(ih, item));
      }
      break;
    default:
      throw Refused{"wrong type: " + what.str() +
                    " must be an unsigned or negative integer, a boolean, text or a list of "
                    "text, not " +
                    major_name(h.major)};
  }
  return v;
}

Frame decode(std::span<const uint8_t> body) {
  Reader r(body);
  const Reader::Head map = r.head("the body");
  if (map.major != 5) {
    throw Refused{std::string("not a map: the body is ") + major_name(map.major)};
  }
  if (map.argument < kKeys.size()) {
    throw Refused{"key order: the map has " + std::to_string(map.argument) +
                  " pair(s), the five keys are required"};
  }
  Frame f;
  // content_version first: an unknown major is refused before anything else is read.
  expect_key(r, 0);
  const uint64_t version = r.unsigned_int("content_version");
  if (version > 0xFFFF) {
    throw Refused{"out of range: content_version " + std::to_string(version) + " exceeds u16"};
  }
  if ((version >> 8) != 1) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%04x", static_cast<unsigned>(version));
    throw Refused{std::string("unsupported major version: content_version 0x") + hex};
  }
  f.content_version = static_cast<uint16_t>(version);
  // Bounded from the map's head, before any extra is read (the version is still first).
  const uint64_t extras = map.argument - kKeys.size();
  if (extras > kMaxExtras) {
    throw Refused{"too many extras: the map has " + std::to_string(extras) + " extras, at most " +
                  std::to_string(kMaxExtras) + " are accepted"};
  }
  expect_key(r, 1);
  f.probe_source = r.text("probe_source");
  expect_key(r, 2);
  const uint64_t pid = r.unsigned_int("guest_pid");
  if (pid > UINT32_MAX) {
    throw Refused{"out of range: guest_pid " + std::to_string(pid) + " exceeds u32"};
  }
  f.guest_pid = static_cast<uint32_t>(pid);
  expect_key(r, 3);
  f.guest_comm = r.text("guest_comm");
  expect_key(r, 4);
  f.guest_monotonic_ns = r.unsigned_int("guest_monotonic_ns");
  // Every key so far, as views into the body: one hash lookup per extra. (Comparing each
  // extra with all those before it made a 4 KiB frame of ~1000 extras cost 90 times the CPU
  // per byte of a plain frame.)
  std::optional<KeySet> keys;
  if (extras > 0) {
    keys.emplace(map.argument);
    for (const auto k : kKeys) keys->insert(k);
    f.extras.reserve(extras);
  }
  for (uint64_t i = kKeys.size(); i < map.argument; ++i) {
    const std::string_view key = r.text(Label::key_number(i + 1));
    if (!keys->insert(key)) throw Refused{"duplicate key: '" + std::string(key) + "'"};
    ExtraValue v = extra_value(r, key);
    f.extras.emplace_back(std::string(key), std::move(v));
  }
  if (r.remaining() != 0) {
    throw Refused{"trailing bytes: " + std::to_string(r.remaining()) + " after the map"};
  }
  return f;
}

}  // namespace

FrameSpan next_frame(std::span<const uint8_t> stream) {
  FrameSpan s;
  if (stream.size() < 4) return s;  // kNeedMore, size unknown yet
  const uint32_t length = uint32_t{stream[0]} | uint32_t{stream[1]} << 8 |
                          uint32_t{stream[2]} << 16 | uint32_t{stream[3]} << 24;
  if (length == 0) {
    s.kind = FrameSpan::kBadLength;
    s.error = "truncated: empty body (length 0)";
    return s;
  }
  if (length > kMaxBodyBytes) {
    s.kind = FrameSpan::kBadLength;
    s.error = "oversized: body length " + std::to_string(length) + " exceeds " +
              std::to_string(kMaxBodyBytes);
    return s;
  }
  s.size = 4 + static_cast<size_t>(length);
  s.kind = stream.size() >= s.size ? FrameSpan::kWhole : FrameSpan::kNeedMore;
  return s;
}

std::optional<Frame> decode_body(std::span<const uint8_t> body, std::string* error) {
  try {
    return decode(body);
  } catch (const Refused& r) {
    if (error) *error = r.reason;
    return std::nullopt;
  }
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlong forms
      hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      lo = c == 0xF0 ? 0x90 : 0x80;
      hi = c == 0xF4 ? 0x8F : 0xBF;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // the sequence runs past the end
    for (size_t k = 1; k <= n; ++k) {
      const auto b = static_cast<uint8_t>(s[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace cellos::telemetry::wire
