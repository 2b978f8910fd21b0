// The strict decoder, alone and against the encoder (JSON lines: tools/recv/tests).
#include "frame_decoder.hpp"

#include <gtest/gtest.h>
#include <cellos/telemetry/sdk.hpp>

#include <string>
#include <vector>

#include "frame_encoder.hpp"

namespace wire = cellos::telemetry::wire;

namespace {

using Bytes = std::vector<uint8_t>;

// Builds bodies item by item; shortest forms unless raw bytes are given on purpose.
struct Body {
  Bytes b;
  Body& head(int major, uint64_t v) {
    const auto m = static_cast<uint8_t>(major << 5);
    if (v < 24) {
      b.push_back(static_cast<uint8_t>(m | v));
    } else if (v <= 0xFF) {
      b.insert(b.end(), {static_cast<uint8_t>(m | 24), static_cast<uint8_t>(v)});
    } else if (v <= 0xFFFF) {
      b.insert(b.end(), {static_cast<uint8_t>(m | 25), static_cast<uint8_t>(v >> 8),
                         static_cast<uint8_t>(v)});
    } else if (v <= 0xFFFFFFFF) {
      b.push_back(static_cast<uint8_t>(m | 26));
      for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
    } else {
      b.push_back(static_cast<uint8_t>(m | 27));
      for (int s = 56; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
    }
    return *this;
  }
  Body& map(uint64_t n) { return head(5, n); }
  Body& uint(uint64_t v) { return head(0, v); }
  Body& text(const std::string& s) {
    head(3, s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Body& raw(std::initializer_list<uint8_t> bytes) {
    b.insert(b.end(), bytes);
    return *this;
  }
};

// A well-formed body up to (not including) the value of `stop_before_value_of`.
Body valid_until(const std::string& stop_before_value_of, uint64_t pairs = 5) {
  Body x;
  x.map(pairs);
  x.text("content_version");
  if (stop_before_value_of == "content_version") return x;
  x.uint(0x0100).text("probe_source");
  if (stop_before_value_of == "probe_source") return x;
  x.text("process.spawned").text("guest_pid");
  if (stop_before_value_of == "guest_pid") return x;
  x.uint(42).text("guest_comm");
  if (stop_before_value_of == "guest_comm") return x;
  x.text("sh").text("guest_monotonic_ns");
  if (stop_before_value_of == "guest_monotonic_ns") return x;
  x.uint(123);
  return x;
}

std::string refusal(const Bytes& body) {
  std::string error;
  const auto f = wire::decode_body(body, &error);
  EXPECT_FALSE(f.has_value());
  return error;
}

#define EXPECT_REFUSED(body, reason_prefix)                     \
  do {                                                          \
    const std::string e_ = refusal(body);                       \
    EXPECT_EQ(e_.rfind(reason_prefix, 0), 0u) << "got: " << e_; \
  } while (0)

TEST(FrameDecoder, DecodesWhatTheEncoderWrites) {
  const ct_extra extras[] = {cellos::telemetry::uint_extra("dropped_count", 300),
                             cellos::telemetry::uint_extra("z", 0)};
  const ct_event e{sizeof(ct_event),
                   "telemetry.dropped",
                   4294967295u,
                   "a\xEF\xBF\xBD",
                   18446744073709551615ull,
                   extras,
                   2};
  const std::string frame = wire::encode_frame(e);
  const Bytes bytes(frame.begin(), frame.end());
  const auto span = wire::next_frame(bytes);
  ASSERT_EQ(span.kind, wire::FrameSpan::kWhole);
  ASSERT_EQ(span.size, bytes.size());
  std::string error;
  const auto f = wire::decode_body(std::span(bytes).subspan(4), &error);
  ASSERT_TRUE(f.has_value()) << error;
  EXPECT_EQ(f->content_version, 0x0101);
  EXPECT_EQ(f->probe_source, "telemetry.dropped");
  EXPECT_EQ(f->guest_pid, 4294967295u);
  EXPECT_EQ(f->guest_comm, "a\xEF\xBF\xBD");
  EXPECT_EQ(f->guest_monotonic_ns, 18446744073709551615ull);
  ASSERT_EQ(f->extras.size(), 2u);
  EXPECT_EQ(f->extras[0].first, "dropped_count");
  EXPECT_EQ(f->extras[0].second.number, 300u);
}

TEST(FrameDecoder, LengthPrefix) {
  EXPECT_EQ(wire::next_frame(Bytes{0x05, 0x00}).kind, wire::FrameSpan::kNeedMore);
  const auto need = wire::next_frame(Bytes{0x10, 0x00, 0x00, 0x00, 0xA5});
  EXPECT_EQ(need.kind, wire::FrameSpan::kNeedMore);
  EXPECT_EQ(need.size, 4u + 16u);
  const auto big = wire::next_frame(Bytes{0x01, 0x10, 0x00, 0x00});  // 4097
  EXPECT_EQ(big.kind, wire::FrameSpan::kBadLength);
  EXPECT_EQ(big.error, "oversized: body length 4097 exceeds 4096");
  const auto huge = wire::next_frame(Bytes{0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_EQ(huge.kind, wire::FrameSpan::kBadLength);
  EXPECT_EQ(wire::next_frame(Bytes{0, 0, 0, 0}).error, "truncated: empty body (length 0)");
  Bytes max(4 + 4096, 0);
  max[1] = 0x10;
  EXPECT_EQ(wire::next_frame(max).kind, wire::FrameSpan::kWhole);
}

TEST(FrameDecoder, Truncated) {
  const Body b = valid_until("");
  for (size_t cut = 0; cut < b.b.size(); ++cut) {
    EXPECT_REFUSED(Bytes(b.b.begin(), b.b.begin() + static_cast<long>(cut)), "truncated");
  }
}

TEST(FrameDecoder, WrongMajorVersion) {
  Body b;
  b.map(5).text("content_version").uint(0x0200);
  EXPECT_REFUSED(b.b, "unsupported major version: content_version 0x0200");
  Body zero;
  zero.map(5).text("content_version").uint(0x00FF);
  EXPECT_REFUSED(zero.b, "unsupported major version: content_version 0x00ff");
  Body wide;
  wide.map(5).text("content_version").uint(0x10100);
  EXPECT_REFUSED(wide.b, "out of range: content_version");
}

TEST(FrameDecoder, MinorVersionsOfMajorOneAreAccepted) {
  Body b;
  b.map(5).text("content_version").uint(0x01FF).text("probe_source").text("x");
  b.text("guest_pid").uint(1).text("guest_comm").text("").text("guest_monotonic_ns").uint(0);
  std::string error;
  EXPECT_TRUE(wire::decode_body(b.b, &error).has_value()) << error;
}

TEST(FrameDecoder, KeyOrder) {
  Body swapped;
  swapped.map(5).text("content_version").uint(0x0100).text("guest_pid").uint(1);
  EXPECT_REFUSED(swapped.b, "key order: expected 'probe_source' as key 2, got 'guest_pid'");
  Body late_version;
  late_version.map(5).text("probe_source").text("x");
  EXPECT_REFUSED(late_version.b, "key order: expected 'content_version' as key 1");
  Body four;
  four.map(4);
  EXPECT_REFUSED(four.b, "key order: the map has 4 pair(s)");
  Body int_key;
  int_key.map(5).uint(1);
  EXPECT_REFUSED(int_key.b, "wrong type: key 1 must be text");
}

TEST(FrameDecoder, InvalidUtf8) {
  Body comm = valid_until("guest_comm");
  comm.raw({0x62, 0xC3, 0x28});  // text(2): C3 must be followed by a continuation byte
  EXPECT_REFUSED(comm.b, "invalid UTF-8: guest_comm");
  Body source = valid_until("probe_source");
  source.raw({0x61, 0xFF});
  EXPECT_REFUSED(source.b, "invalid UTF-8: probe_source");
  Body key;
  key.map(5).raw({0x62, 0xED, 0xA0});  // a cut surrogate as a key
  EXPECT_REFUSED(key.b, "invalid UTF-8: key 1");
}

TEST(FrameDecoder, Utf8Validator) {
  EXPECT_TRUE(wire::valid_utf8(""));
  EXPECT_TRUE(wire::valid_utf8("plain"));
  EXPECT_TRUE(wire::valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBF\xBD"));
  EXPECT_TRUE(wire::valid_utf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  EXPECT_FALSE(wire::valid_utf8("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(wire::valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(wire::valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(wire::valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(wire::valid_utf8("\xE2\x82"));          // cut short
  EXPECT_FALSE(wire::valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(wire::valid_utf8("\xFE"));
}

TEST(FrameDecoder, IndefiniteLengths) {
  EXPECT_REFUSED(Bytes{0xBF}, "indefinite length: the body");
  Body text = valid_until("guest_comm");
  text.raw({0x7F, 0x61, 0x61, 0xFF});
  EXPECT_REFUSED(text.b, "indefinite length: guest_comm");
}

TEST(FrameDecoder, FloatsTagsAndSimpleValues) {
  Body f = valid_until("guest_monotonic_ns");
  f.raw({0xFB, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0});  // 1.0 as a double
  EXPECT_REFUSED(f.b, "float: guest_monotonic_ns");
  Body half = valid_until("guest_pid");
  half.raw({0xF9, 0x3C, 0x00});
  EXPECT_REFUSED(half.b, "float: guest_pid");
  Body tag = valid_until("guest_monotonic_ns");
  tag.raw({0xC1, 0x00});  // tag 1 (epoch time)
  EXPECT_REFUSED(tag.b, "tag: guest_monotonic_ns");
  Body simple = valid_until("guest_pid");
  simple.raw({0xF5});  // true
  EXPECT_REFUSED(simple.b, "wrong type: guest_pid is a simple value");
}

TEST(FrameDecoder, NonShortestIntegersAndLengths) {
  Body pid = valid_until("guest_pid");
  pid.raw({0x18, 0x05});
  EXPECT_REFUSED(pid.b, "non-shortest encoding: guest_pid (5)");
  Body version;
  version.map(5).text("content_version").raw({0x1A, 0x00, 0x00, 0x01, 0x00});
  EXPECT_REFUSED(version.b, "non-shortest encoding: content_version (256)");
  Body ns = valid_until("guest_monotonic_ns");
  ns.raw({0x1B, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_REFUSED(ns.b, "non-shortest encoding: guest_monotonic_ns");
  Body map;
  map.raw({0xB8, 0x05});
  EXPECT_REFUSED(map.b, "non-shortest encoding: the body");
  Body comm = valid_until("guest_comm");
  comm.raw({0x78, 0x02, 0x73, 0x68});
  EXPECT_REFUSED(comm.b, "non-shortest encoding: guest_comm");
}

TEST(FrameDecoder, WrongTypesAndRanges) {
  Body neg = valid_until("guest_pid");
  neg.raw({0x20});  // -1
  EXPECT_REFUSED(neg.b, "wrong type: guest_pid must be an unsigned integer, not a negative");
  Body pid = valid_until("guest_pid");
  pid.uint(4294967296ull);
  EXPECT_REFUSED(pid.b, "out of range: guest_pid 4294967296 exceeds u32");
  Body bytes = valid_until("guest_comm");
  bytes.raw({0x42, 0x73, 0x68});
  EXPECT_REFUSED(bytes.b, "wrong type: guest_comm must be text, not bytes");
  EXPECT_REFUSED((Bytes{0x85, 0, 0, 0, 0, 0}), "not a map: the body is an array");
  Body reserved = valid_until("guest_pid");
  reserved.raw({0x1C});
  EXPECT_REFUSED(reserved.b, "reserved encoding: guest_pid");
}

TEST(FrameDecoder, ExtraKeys) {
  Body ok = valid_until("", 7);
  ok.text("dropped_count").uint(3).text("note").text("hi");
  std::string error;
  const auto f = wire::decode_body(ok.b, &error);
  ASSERT_TRUE(f.has_value()) << error;
  ASSERT_EQ(f->extras.size(), 2u);
  EXPECT_EQ(f->extras[1].second.type, wire::ExtraValue::kText);
  Body dup = valid_until("", 6);
  dup.text("guest_pid").uint(3);
  EXPECT_REFUSED(dup.b, "duplicate key: 'guest_pid'");
  Body dup2 = valid_until("", 7);
  dup2.text("a").uint(1).text("a").uint(2);
  EXPECT_REFUSED(dup2.b, "duplicate key: 'a'");
  Body nested = valid_until("", 6);
  nested.text("a").raw({0xA0});
  EXPECT_REFUSED(nested.b,
                 "wrong type: 'a' must be an unsigned or negative integer, a boolean, text or a "
                 "list of text, not a map");
  Body missing = valid_until("", 6);
  EXPECT_REFUSED(missing.b, "truncated");
}

// At most kMaxExtras extras: a frame of many tiny extras would otherwise cost far more per byte
// than a plain one. The bound is checked from the map's header, before any extra is read.
TEST(FrameDecoder, ExtrasAreBounded) {
  // The shortest distinct keys: a, b, ..., Z, ba, bb, ...
  const auto key = [](size_t i) {
    std::string k;
    for (size_t n = i; k.empty() || n > 0; n /= 52) {
      k += "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 52];
    }
    return k;
  };
  const auto with_extras = [&key](size_t n) {
    Body b = valid_until("", 5 + n);
    for (size_t i = 0; i < n; ++i) b.text(key(i)).uint(i % 24);
    return b;
  };
  const Body at_bound = with_extras(wire::kMaxExtras);
  std::string error;
  const auto f = wire::decode_body(at_bound.b, &error);
  ASSERT_TRUE(f.has_value()) << error;
  EXPECT_EQ(f->extras.size(), wire::kMaxExtras);
  EXPECT_EQ(f->extras.back().first, key(wire::kMaxExtras - 1));

  const Body over = with_extras(wire::kMaxExtras + 1);
  EXPECT_EQ(refusal(over.b), "too many extras: the map has " +
                                 std::to_string(wire::kMaxExtras + 1) + " extras, at most " +
                                 std::to_string(wire::kMaxExtras) + " are accepted");
  // 995 extras of one- and two-letter keys fit in 4 KiB: the frame the bound exists for.
  const Body issue = with_extras(995);
  ASSERT_LE(issue.b.size(), wire::kMaxBodyBytes);
  EXPECT_REFUSED(issue.b, "too many extras: the map has 995 extras");
  // Refused once the version is known, before the extras are read: an unknown major still
  // comes first, and the rest of the body need not even be there.
  Body early;
  early.map(5 + wire::kMaxExtras + 1).text("content_version").uint(0x0101);
  EXPECT_REFUSED(early.b, "too many extras");
  Body major;
  major.map(5 + wire::kMaxExtras + 1).text("content_version").uint(0x0201);
  EXPECT_REFUSED(major.b, "unsupported major version");
}

// The duplicate check covers every pair of extras, the last against the first included.
TEST(FrameDecoder, DuplicateExtrasFoundAnywhereInALongList) {
  Body b = valid_until("", 5 + wire::kMaxExtras);
  for (size_t i = 0; i + 1 < wire::kMaxExtras; ++i) b.text("k" + std::to_string(i)).uint(1);
  b.text("k0").text("again");
  EXPECT_REFUSED(b.b, "duplicate key: 'k0'");
  Body wire_key = valid_until("", 5 + wire::kMaxExtras);
  for (size_t i = 0; i + 1 < wire::kMaxExtras; ++i) wire_key.text("k" + std::to_string(i)).uint(1);
  wire_key.text("guest_comm").text("x");
  EXPECT_REFUSED(wire_key.b, "duplicate key: 'guest_comm'");
}

// Typed extras (wire 1.1): exactly unsigned, negative, true/false, text and lists of text.
wire::Frame decoded_extra(std::initializer_list<uint8_t> value) {
  Body b = valid_until("", 6);
  b.text("k").raw(value);
  std::string error;
  const auto f = wire::decode_body(b.b, &error);
  EXPECT_TRUE(f.has_value()) << error;
  return f ? *f : wire::Frame{};
}

TEST(FrameDecoderTyped, AcceptsEveryTypeInShortestForm) {
  auto f = decoded_extra({0x38, 0x18});
  ASSERT_EQ(f.extras.size(), 1u);
  EXPECT_EQ(f.extras[0].second.type, wire::ExtraValue::kNegative);
  EXPECT_EQ(f.extras[0].second.negative, -25);
  f = decoded_extra({0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  EXPECT_EQ(f.extras.at(0).second.negative, INT64_MIN);
  f = decoded_extra({0xF5});
  EXPECT_EQ(f.extras.at(0).second.type, wire::ExtraValue::kBool);
  EXPECT_EQ(f.extras.at(0).second.number, 1u);
  EXPECT_EQ(decoded_extra({0xF4}).extras.at(0).second.number, 0u);
  f = decoded_extra({0x62, 'h', 'i'});
  EXPECT_EQ(f.extras.at(0).second.type, wire::ExtraValue::kText);
  EXPECT_EQ(f.extras.at(0).second.text, "hi");
  f = decoded_extra({0x82, 0x61, 'a', 0x60});
  EXPECT_EQ(f.extras.at(0).second.type, wire::ExtraValue::kTextList);
  EXPECT_EQ(f.extras.at(0).second.list, (std::vector<std::string>{"a", ""}));
  f = decoded_extra({0x80});
  EXPECT_EQ(f.extras.at(0).second.type, wire::ExtraValue::kTextList);
  EXPECT_TRUE(f.extras.at(0).second.list.empty());
  EXPECT_EQ(decoded_extra({0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
                .extras.at(0)
                .second.number,
            UINT64_MAX);
}

TEST(FrameDecoderTyped, RefusesEveryOtherForm) {
  const std::vector<std::pair<std::vector<uint8_t>, std::string>> cases = {
      {{0xF9, 0x3C, 0x00}, "float: 'k'"},
      {{0xFA, 0, 0, 0, 0}, "float: 'k'"},
      {{0xFB, 0, 0, 0, 0, 0, 0, 0, 0}, "float: 'k'"},
      {{0xC1, 0x00}, "tag: 'k'"},
      {{0xF6}, "wrong type: 'k' is a simple value"},  // null
      {{0xF7}, "wrong type: 'k' is a simple value"},  // undefined
      {{0xF0}, "wrong type: 'k' is a simple value"},  // simple value 16
      {{0xF8, 0x20}, "wrong type: 'k' is a simple value"},
      {{0x7F, 0x61, 'a', 0xFF}, "indefinite length: 'k'"},
      {{0x9F, 0x61, 'a', 0xFF}, "indefinite length: 'k'"},
      {{0x18, 0x05}, "non-shortest encoding: 'k' (5)"},
      {{0x38, 0x05}, "non-shortest encoding: 'k' (5)"},
      {{0x98, 0x01, 0x60}, "non-shortest encoding: 'k' (1)"},
      {{0x81, 0x78, 0x01, 'a'}, "non-shortest encoding: 'k' item 1 (1)"},
      {{0x62, 0xC3, 0x28}, "invalid UTF-8: 'k'"},
      {{0x82, 0x60, 0x61, 0xFF}, "invalid UTF-8: 'k' item 2"},
      {{0xA1, 0x61, 'a', 0x01}, "wrong type: 'k' must be an unsigned or negative integer"},
      {{0x41, 0x00}, "wrong type: 'k' must be an unsigned or negative integer"},  // bytes
      {{0x81, 0x01}, "wrong type: 'k' item 1 must be text, not an unsigned integer"},
      {{0x81, 0x80}, "wrong type: 'k' item 1 must be text, not an array"},
      {{0x81, 0xF5}, "wrong type: 'k' item 1 is a simple value"},
      {{0x3B, 0x80, 0, 0, 0, 0, 0, 0, 0}, "out of range: 'k' is below -2^63"},
      {{0x99, 0xFF, 0xFF}, "truncated: 'k' claims 65535 items"},
      {{0x82, 0x60}, "truncated: 'k' claims 2 items, 1 bytes left"},
      {{0x82, 0x60, 0x61}, "truncated: 'k' item 2 claims 1 bytes, 0 left"},
  };
  for (const auto& [bytes, reason] : cases) {
    Body b = valid_until("", 6);
    b.text("k");
    b.b.insert(b.b.end(), bytes.begin(), bytes.end());
    const std::string e = refusal(b.b);
    EXPECT_EQ(e.rfind(reason, 0), 0u) << "got: " << e << " for " << testing::PrintToString(bytes);
  }
}

TEST(FrameDecoderTyped, RoundTripOfEveryType) {
  const ct_text argv[] = {{"ls", 2}, {"-l \"x\"", 6}};
  ct_extra list{"argv", {CT_VALUE_TEXT_LIST, 0, {}}};
  list.value.as.list = ct_text_list{argv, 2};
  ct_extra neg{"nice", {CT_VALUE_NEGINT, 0, {}}};
  neg.value.as.i = -5;
  ct_extra yes{"raced", {CT_VALUE_BOOL, 0, {}}};
  yes.value.as.b = 1;
  ct_extra empty{"env", {CT_VALUE_TEXT_LIST, 0, {}}};
  const ct_extra extras[] = {cellos::telemetry::uint_extra("uid", 1000),      neg,  yes,
                             cellos::telemetry::text_extra("cwd", "/t\xFFp"), list, empty};
  const std::string frame =
      wire::encode_frame(cellos::telemetry::make_event("process.exec", 42, "ls", 7, extras, 6));
  const Bytes bytes(frame.begin(), frame.end());
  std::string error;
  const auto f = wire::decode_body(std::span(bytes).subspan(4), &error);
  ASSERT_TRUE(f.has_value()) << error;
  EXPECT_EQ(f->content_version, 0x0101);
  ASSERT_EQ(f->extras.size(), 6u);
  EXPECT_EQ(f->extras[3].second.text, "/t\xEF\xBF\xBDp");  // repaired by the encoder
}

TEST(FrameDecoderTyped, TruncatedFramesDecodeWithTheirFlag) {
  const std::string item(50, 'a');
  const std::vector<ct_text> items(200, ct_text{item.data(), 50});
  ct_extra list{"argv", {CT_VALUE_TEXT_LIST, 0, {}}};
  list.value.as.list = ct_text_list{items.data(), 200};
  const std::string frame =
      wire::encode_frame(cellos::telemetry::make_event("process.exec", 42, "ls", 7, &list, 1));
  const Bytes bytes(frame.begin(), frame.end());
  std::string error;
  const auto f = wire::decode_body(std::span(bytes).subspan(4), &error);
  ASSERT_TRUE(f.has_value()) << error;
  ASSERT_EQ(f->extras.size(), 2u);
  EXPECT_LT(f->extras[0].second.list.size(), 200u);
  EXPECT_GT(f->extras[0].second.list.size(), 70u);
  EXPECT_EQ(f->extras[1].first, "extras_truncated");
  EXPECT_EQ(f->extras[1].second.type, wire::ExtraValue::kBool);
  EXPECT_EQ(f->extras[1].second.number, 1u);
}

TEST(FrameDecoder, TrailingBytes) {
  Body b = valid_until("");
  b.raw({0x00});
  EXPECT_REFUSED(b.b, "trailing bytes: 1 after the map");
}

}  // namespace
