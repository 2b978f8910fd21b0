// Golden frames, derived by hand from RFC 8949 (not from the encoder), so the encoder is held to
// the bytes the host expects. Notation used in the comments:
//   major type 0 (unsigned): 0x00..0x17 value itself; 0x18 + 1 byte; 0x19 + 2; 0x1A + 4; 0x1B + 8
//   major type 3 (text):     0x60 + length when < 24, else 0x78 + 1-byte length
//   major type 1 (negative): as type 0 with 0x20 added, carrying -1 - value: -1 is 0x20
//   major type 4 (array):    0x80 + number of items when < 24
//   major type 5 (map):      0xA0 + number of pairs when < 24
//   major type 7 (simple):   0xF4 false, 0xF5 true
// Preferred serialization (section 4.2.1) requires the shortest of these forms.
#include "frame_encoder.hpp"

#include <cellos/telemetry/sdk.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace ct = cellos::telemetry;
namespace wire = cellos::telemetry::wire;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// Appends the ASCII text's bytes (the payload after a text header).
void ascii(Bytes& b, const char* s) {
  for (; *s; ++s) b.push_back(static_cast<uint8_t>(*s));
}

Bytes encode(const ct_event& e) {
  return bytes_of(wire::encode_frame(e));
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (uint8_t x : b) {
    std::snprintf(buf, sizeof buf, "%02x ", x);
    s += buf;
  }
  return s;
}

// The three keys' texts every frame shares, with their headers:
//   "content_version"    15 bytes -> 0x6F
//   "probe_source"       12 bytes -> 0x6C
//   "guest_pid"           9 bytes -> 0x69
//   "guest_comm"         10 bytes -> 0x6A
//   "guest_monotonic_ns" 18 bytes -> 0x72 (18 < 24: still the one-byte header)

TEST(FrameEncoderGolden, SmallPidEmptyCommZeroNs) {
  const ct_event e{sizeof(ct_event), "process.spawned", 1, "", 0, nullptr, 0};
  Bytes x;
  x.insert(x.end(), {0x5C, 0x00, 0x00, 0x00});  // body length 92, u32 little-endian (below)
  x.push_back(0xA5);                            // map, 5 pairs
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x00});  // 256 = 0x0100 does not fit one byte: 0x19 + 2 bytes
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x6F), ascii(x, "process.spawned");  // 15 bytes -> 0x6F
  x.push_back(0x69), ascii(x, "guest_pid");
  x.push_back(0x01);  // 1 < 24: the value is the header
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.push_back(0x60);  // empty text: header alone
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.push_back(0x00);  // 0 ns
  // Body: 1 + (1+15) + 3 + (1+12) + (1+15) + (1+9) + 1 + (1+10) + 1 + (1+18) + 1 = 92 = 0x5C.
  ASSERT_EQ(x.size(), 4u + 92u);
  EXPECT_EQ(hex(encode(e)), hex(x));
}

TEST(FrameEncoderGolden, LargestPidFifteenByteCommLargestNs) {
  const ct_event e{sizeof(ct_event),
                   "process.exited",
                   4294967295u,
                   "abcdefghijklmno",
                   18446744073709551615ull,
                   nullptr,
                   0};
  Bytes x;
  x.insert(x.end(), {0x76, 0x00, 0x00, 0x00});  // body length 118 = 0x76
  x.push_back(0xA5);
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x00});
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x6E), ascii(x, "process.exited");  // 14 bytes -> 0x6E
  x.push_back(0x69), ascii(x, "guest_pid");
  x.insert(x.end(), {0x1A, 0xFF, 0xFF, 0xFF, 0xFF});  // 2^32-1 needs 4 bytes: 0x1A, big-endian
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.push_back(0x6F), ascii(x, "abcdefghijklmno");  // the kernel's longest comm, 15 bytes
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.insert(x.end(), {0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});  // 2^64-1: 0x1B + 8
  // Body: 1 + 16 + 3 + 13 + 15 + 10 + 5 + 11 + 16 + 19 + 9 = 118.
  ASSERT_EQ(x.size(), 4u + 118u);
  EXPECT_EQ(hex(encode(e)), hex(x));
}

TEST(FrameEncoderGolden, ReplacementCharacterCommAndFourByteBoundaries) {
  // U+FFFD is EF BF BD in UTF-8; "a\uFFFD" is 4 bytes -> text header 0x64.
  const ct_event e{sizeof(ct_event), "process.exec", 65536, "a\xEF\xBF\xBD",
                   4294967296ull,    nullptr,        0};
  Bytes x;
  x.insert(x.end(), {0x69, 0x00, 0x00, 0x00});  // body length 105 = 0x69 (below)
  x.push_back(0xA5);
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x00});
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x6C), ascii(x, "process.exec");  // 12 bytes -> 0x6C
  x.push_back(0x69), ascii(x, "guest_pid");
  x.insert(x.end(), {0x1A, 0x00, 0x01, 0x00, 0x00});  // 65536 = 2^16: first value needing 4 bytes
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.insert(x.end(), {0x64, 0x61, 0xEF, 0xBF, 0xBD});
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.insert(x.end(), {0x1B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00});  // 2^32 needs 8
  // Body: 1 + 16 + 3 + 13 + 13 + 10 + 5 + 11 + 5 + 19 + 9 = 105.
  ASSERT_EQ(x.size(), 4u + 105u);
  EXPECT_EQ(hex(encode(e)), hex(x));
}

TEST(FrameEncoderGolden, ExtrasFollowTheFiveAndRaiseTheMinorVersion) {
  const ct_extra extra = ct::uint_extra("dropped_count", 300);
  const ct_event e{sizeof(ct_event), "telemetry.dropped", 255, "cellos-telemetr", 24, &extra, 1};
  Bytes x;
  x.insert(x.end(), {0x80, 0x00, 0x00, 0x00});  // body length 128 = 0x80
  x.push_back(0xA6);                            // map, 6 pairs
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x01});  // 0x0101: major 1, minor 1 (extra keys follow)
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x71), ascii(x, "telemetry.dropped");  // 17 bytes -> 0x71
  x.push_back(0x69), ascii(x, "guest_pid");
  x.insert(x.end(), {0x18, 0xFF});  // 255: largest one-byte-argument value, 0x18 + 1
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.push_back(0x6F), ascii(x, "cellos-telemetr");
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.insert(x.end(), {0x18, 0x18});               // 24: smallest value that needs 0x18 + 1
  x.push_back(0x6D), ascii(x, "dropped_count");  // 13 bytes -> 0x6D
  x.insert(x.end(), {0x19, 0x01, 0x2C});         // 300 = 0x012C
  // Body: 1 + 16 + 3 + 13 + 18 + 10 + 2 + 11 + 16 + 19 + 2 + 14 + 3 = 128.
  ASSERT_EQ(x.size(), 4u + 128u);
  EXPECT_EQ(hex(encode(e)), hex(x));
}

// Issue 15: the vsock sink's seq, first after the five keys, before the event's own extras.
TEST(FrameEncoderGolden, SeqFollowsTheFiveBeforeTheExtras) {
  const ct_extra extra = ct::uint_extra("dropped_count", 300);
  const ct_event e{sizeof(ct_event), "telemetry.dropped", 255, "cellos-telemetr", 24, &extra, 1};
  Bytes x;
  x.insert(x.end(), {0x87, 0x00, 0x00, 0x00});  // body length 135 = 128 + 7 (below)
  x.push_back(0xA7);                            // map, 7 pairs
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x01});  // 0x0101: extra keys follow
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x71), ascii(x, "telemetry.dropped");
  x.push_back(0x69), ascii(x, "guest_pid");
  x.insert(x.end(), {0x18, 0xFF});
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.push_back(0x6F), ascii(x, "cellos-telemetr");
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.insert(x.end(), {0x18, 0x18});
  x.push_back(0x63), ascii(x, "seq");     // 3 bytes -> 0x63
  x.insert(x.end(), {0x19, 0x30, 0x39});  // 12345 = 0x3039
  x.push_back(0x6D), ascii(x, "dropped_count");
  x.insert(x.end(), {0x19, 0x01, 0x2C});
  ASSERT_EQ(x.size(), 4u + 135u);
  EXPECT_EQ(hex(bytes_of(wire::encode_frame(e, 12345))), hex(x));
  // Without extras: six pairs, and the version says extra keys follow.
  const ct_event bare{sizeof(ct_event), "process.spawned", 1, "", 0, nullptr, 0};
  const Bytes b = bytes_of(wire::encode_frame(bare, 1));
  EXPECT_EQ(b[4], 0xA6);
  EXPECT_EQ(hex(Bytes(b.end() - 5, b.end())), "63 73 65 71 01 ");  // "seq" 1, last
}

TEST(FrameEncoder, IntegerBoundariesTakeTheShortestForm) {
  // The pid's encoding alone, for each boundary: what follows the "guest_pid" key.
  const std::vector<std::pair<uint32_t, Bytes>> cases = {
      {23, {0x17}},
      {24, {0x18, 0x18}},
      {255, {0x18, 0xFF}},
      {256, {0x19, 0x01, 0x00}},
      {65535, {0x19, 0xFF, 0xFF}},
      {65536, {0x1A, 0x00, 0x01, 0x00, 0x00}},
  };
  for (const auto& [pid, expected] : cases) {
    const Bytes f = encode(ct_event{sizeof(ct_event), "p", pid, "", 0, nullptr, 0});
    // 4 prefix + A5 + (1+15) + 3 + (1+12) + (1+1 "p") + (1+9 "guest_pid") = 49
    const Bytes got(f.begin() + 49, f.begin() + 49 + static_cast<long>(expected.size()));
    EXPECT_EQ(hex(got), hex(expected)) << "pid " << pid;
  }
}

TEST(FrameEncoder, InvalidUtf8IsRepairedNeverPassedThrough) {
  // A lone 0xFF and a truncated two-byte sequence: each becomes one U+FFFD.
  const Bytes repaired =
      encode(ct_event{sizeof(ct_event), "process.exec", 65536, "a\xFF", 4294967296ull, nullptr, 0});
  const Bytes reference = encode(ct_event{sizeof(ct_event), "process.exec", 65536, "a\xEF\xBF\xBD",
                                          4294967296ull, nullptr, 0});
  EXPECT_EQ(hex(repaired), hex(reference));
  const Bytes cut = encode(ct_event{sizeof(ct_event), "p", 1, "\xC3", 0, nullptr, 0});
  const Bytes cut_ref = encode(ct_event{sizeof(ct_event), "p", 1, "\xEF\xBF\xBD", 0, nullptr, 0});
  EXPECT_EQ(hex(cut), hex(cut_ref));
}

TEST(FrameEncoder, NullStringsAreEmpty) {
  EXPECT_EQ(hex(encode(ct_event{sizeof(ct_event), nullptr, 1, nullptr, 0, nullptr, 0})),
            hex(encode(ct_event{sizeof(ct_event), "", 1, "", 0, nullptr, 0})));
}

TEST(FrameEncoder, BodyAtTheLimitIsSentOneByteMoreIsNot) {
  // Body: 1 + 16 + 3 + 13 + (1+1 "p") + 10 + 1 + 11 + (3 + n) + 19 + 1 = 80 + n, the comm's
  // header being 0x79 + 2 bytes for 256 <= n < 65536; n = 4016 makes exactly 4096.
  const std::string fits(4016, 'x');
  const std::string too_long(4017, 'x');
  const std::string frame =
      wire::encode_frame(ct_event{sizeof(ct_event), "p", 1, fits.c_str(), 0, nullptr, 0});
  ASSERT_EQ(frame.size(), 4u + 4096u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x00);  // 4096 = 0x1000, little-endian
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), 0x10);
  EXPECT_TRUE(
      wire::encode_frame(ct_event{sizeof(ct_event), "p", 1, too_long.c_str(), 0, nullptr, 0})
          .empty());
}

// Typed extras (ABI 2, wire 1.1). Every frame below is "p", pid 1, comm "", 0 ns, one extra
// "k": 4 prefix + A6 + (1+15) + 19 01 01 + (1+12) + 61 70 + (1+9) + 01 + (1+10) + 60 + (1+18) +
// 00 = 82 bytes, then 61 6B ("k"), then the value at offset 84.
constexpr size_t kValueOffset = 84;

Bytes value_of(const ct_extra& x) {
  const Bytes f = encode(ct::make_event("p", 1, "", 0, &x, 1));
  EXPECT_GT(f.size(), kValueOffset);
  if (f.size() <= kValueOffset) return {};
  EXPECT_EQ(f[4], 0xA6);  // five keys and "k"
  EXPECT_EQ(f[82], 0x61);
  EXPECT_EQ(f[83], 'k');
  EXPECT_EQ(f.size() - 4, static_cast<size_t>(f[0] | f[1] << 8));  // the prefix counts it all
  return Bytes(f.begin() + kValueOffset, f.end());
}

ct_extra negint(int64_t v) {
  ct_extra x{"k", {CT_VALUE_NEGINT, 0, {}}};
  x.value.as.i = v;
  return x;
}
ct_extra boolean(int v) {
  ct_extra x{"k", {CT_VALUE_BOOL, 0, {}}};
  x.value.as.b = v;
  return x;
}
ct_extra list(const std::vector<ct_text>& items) {
  ct_extra x{"k", {CT_VALUE_TEXT_LIST, 0, {}}};
  x.value.as.list = ct_text_list{items.data(), static_cast<uint32_t>(items.size())};
  return x;
}

TEST(FrameEncoderTyped, UnsignedTakesTheShortestForm) {
  const std::vector<std::pair<uint64_t, Bytes>> cases = {
      {0, {0x00}},
      {23, {0x17}},
      {24, {0x18, 0x18}},
      {255, {0x18, 0xFF}},
      {256, {0x19, 0x01, 0x00}},
      {65535, {0x19, 0xFF, 0xFF}},
      {65536, {0x1A, 0x00, 0x01, 0x00, 0x00}},
      {4294967295ull, {0x1A, 0xFF, 0xFF, 0xFF, 0xFF}},
      {4294967296ull, {0x1B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}},
      {UINT64_MAX, {0x1B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
  };
  for (const auto& [v, expected] : cases) {
    EXPECT_EQ(hex(value_of(ct::uint_extra("k", v))), hex(expected)) << v;
  }
}

TEST(FrameEncoderTyped, NegativeTakesTheShortestForm) {
  // Major type 1 carries n = -1 - value, with type 0's argument rules applied to n.
  const std::vector<std::pair<int64_t, Bytes>> cases = {
      {-1, {0x20}},                              // n = 0
      {-24, {0x37}},                             // n = 23: the largest in the initial byte
      {-25, {0x38, 0x18}},                       // n = 24: one argument byte
      {-256, {0x38, 0xFF}},                      // n = 255
      {-257, {0x39, 0x01, 0x00}},                // n = 256: two
      {-65537, {0x3A, 0x00, 0x01, 0x00, 0x00}},  // n = 65536: four
      {-4294967297ll, {0x3B, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}},  // n = 2^32
      {INT64_MIN, {0x3B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},      // n = 2^63-1
  };
  for (const auto& [v, expected] : cases) EXPECT_EQ(hex(value_of(negint(v))), hex(expected)) << v;
}

TEST(FrameEncoderTyped, BooleansAreSimpleValuesTwentyAndTwentyOne) {
  EXPECT_EQ(hex(value_of(boolean(0))), hex({0xF4}));
  EXPECT_EQ(hex(value_of(boolean(1))), hex({0xF5}));
  EXPECT_EQ(hex(value_of(boolean(-7))), hex({0xF5}));  // C truth: any non-zero
}

TEST(FrameEncoderTyped, TextIsMajorTypeThreeAndRepaired) {
  EXPECT_EQ(hex(value_of(ct::text_extra("k", ""))), hex({0x60}));
  EXPECT_EQ(hex(value_of(ct_extra{"k", {CT_VALUE_TEXT, 0, {}}})), hex({0x60}));  // null, len 0
  EXPECT_EQ(hex(value_of(ct::text_extra("k", "abc"))), hex({0x63, 'a', 'b', 'c'}));
  EXPECT_EQ(hex(value_of(ct::text_extra("k", "\xFF"))), hex({0x63, 0xEF, 0xBF, 0xBD}));
  const std::string t24(24, 'x');
  Bytes x = {0x78, 0x18};  // 24 bytes: the first length that needs an argument byte
  x.insert(x.end(), t24.begin(), t24.end());
  EXPECT_EQ(hex(value_of(ct::text_extra("k", t24))), hex(x));
}

TEST(FrameEncoderTyped, ListOfTextIsMajorTypeFour) {
  EXPECT_EQ(hex(value_of(list({}))), hex({0x80}));
  EXPECT_EQ(hex(value_of(list({{"a", 1}, {"bc", 2}, {nullptr, 0}}))),
            hex({0x83, 0x61, 'a', 0x62, 'b', 'c', 0x60}));
  const std::vector<ct_text> many(24, ct_text{"z", 1});
  Bytes x = {0x98, 0x18};
  for (int i = 0; i < 24; ++i) x.insert(x.end(), {0x61, 'z'});
  EXPECT_EQ(hex(value_of(list(many))), hex(x));
}

TEST(FrameEncoderTyped, UnknownTypesAndNonNegativeNegintsAreSkipped) {
  ct_extra unknown{"k", {99, 0, {}}};
  const ct_extra extras[] = {unknown, negint(0), ct_extra{nullptr, {CT_VALUE_UINT, 0, {}}}};
  EXPECT_EQ(hex(encode(ct::make_event("p", 1, "", 0, extras, 3))),
            hex(encode(ct::make_event("p", 1, "", 0))));  // 0x0100: nothing beyond the five
}

// One frame with every type, derived by hand (the README's annotated example).
TEST(FrameEncoderGolden, EveryExtraType) {
  const ct_text argv[] = {{"ls", 2}, {"-l", 2}};
  ct_extra l{"argv", {CT_VALUE_TEXT_LIST, 0, {}}};
  l.value.as.list = ct_text_list{argv, 2};
  const ct_extra extras[] = {ct::uint_extra("n", 300), negint(-25), boolean(1),
                             ct::text_extra("cwd", "/tmp"), l};
  ct_extra named[5];
  std::copy(std::begin(extras), std::end(extras), named);
  named[1].key = "d";
  named[2].key = "ok";
  Bytes x;
  x.insert(x.end(), {0x7C, 0x00, 0x00, 0x00});  // body length 124
  x.push_back(0xAA);                            // map, 10 pairs
  x.push_back(0x6F), ascii(x, "content_version");
  x.insert(x.end(), {0x19, 0x01, 0x01});  // 0x0101: wire 1.1, typed extras
  x.push_back(0x6C), ascii(x, "probe_source");
  x.push_back(0x6B), ascii(x, "probe.typed");
  x.push_back(0x69), ascii(x, "guest_pid");
  x.push_back(0x07);
  x.push_back(0x6A), ascii(x, "guest_comm");
  x.push_back(0x62), ascii(x, "sh");
  x.push_back(0x72), ascii(x, "guest_monotonic_ns");
  x.push_back(0x01);
  x.push_back(0x61), ascii(x, "n");
  x.insert(x.end(), {0x19, 0x01, 0x2C});  // 300
  x.push_back(0x61), ascii(x, "d");
  x.insert(x.end(), {0x38, 0x18});  // -25: major 1, n = 24
  x.push_back(0x62), ascii(x, "ok");
  x.push_back(0xF5);  // true
  x.push_back(0x63), ascii(x, "cwd");
  x.push_back(0x64), ascii(x, "/tmp");
  x.push_back(0x64), ascii(x, "argv");
  x.push_back(0x82);  // array of 2
  x.push_back(0x62), ascii(x, "ls");
  x.push_back(0x62), ascii(x, "-l");
  // Body: 1 + 19 + 25 + 11 + 14 + 20 + 5 + 4 + 4 + 9 + 12 = 124.
  ASSERT_EQ(x.size(), 4u + 124u);
  EXPECT_EQ(hex(encode(ct::make_event("probe.typed", 7, "sh", 1, named, 5))), hex(x));
}

// What the cut leaves, read back item by item (the decoder has its own tests; these check the
// encoder's plan).
size_t body_size(const std::string& frame) {
  return frame.size() - wire::kLengthPrefixBytes;
}
bool ends_with_truncated_flag(const std::string& frame) {
  const std::string flag = std::string("\x70") + "extras_truncated" + "\xF5";
  return frame.size() >= flag.size() &&
         frame.compare(frame.size() - flag.size(), flag.size(), flag) == 0;
}

TEST(FrameEncoderTruncation, TenKibArgvLosesItsLastItemsAndSaysSo) {
  const std::string item(50, 'a');  // 200 items of 50 bytes: 10 KiB of argv
  const std::vector<ct_text> items(200, ct_text{item.data(), 50});
  ct_extra x[2] = {list(items), ct::uint_extra("after", 1)};
  x[0].key = "argv";
  bool truncated = false;
  std::array<uint8_t, wire::kMaxFrameBytes> out{};
  const size_t n =
      wire::encode_frame(ct::make_event("process.exec", 4242, "sh", 1, x, 2), out, &truncated);
  ASSERT_GT(n, 0u);
  const std::string frame(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_TRUE(truncated);
  EXPECT_LE(body_size(frame), wire::kMaxBodyBytes);
  // Only as many items as needed went: one more (52 bytes) would not have fitted.
  EXPECT_GT(body_size(frame) + 52, wire::kMaxBodyBytes);
  EXPECT_TRUE(ends_with_truncated_flag(frame));
  // Lists are cut before whole extras: "after" (65 "after" 01) is still there.
  EXPECT_NE(frame.find(std::string("\x65") + "after" + "\x01"), std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 0xA8);  // the five, argv, after and the flag
}

TEST(FrameEncoderTruncation, ManyExtrasLoseTheTrailingOnes) {
  const std::string big(1000, 'x');
  std::vector<std::string> keys;
  std::vector<ct_extra> x;
  for (int i = 0; i < 32; ++i) keys.push_back("t" + std::to_string(i));
  for (int i = 0; i < 32; ++i) x.push_back(ct::text_extra(keys[i].c_str(), big));
  bool truncated = false;
  std::array<uint8_t, wire::kMaxFrameBytes> out{};
  const size_t n =
      wire::encode_frame(ct::make_event("process.exec", 1, "sh", 1, x.data(), 32), out, &truncated);
  ASSERT_GT(n, 0u);
  const std::string frame(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_TRUE(truncated);
  EXPECT_LE(body_size(frame), wire::kMaxBodyBytes);
  EXPECT_TRUE(ends_with_truncated_flag(frame));
  // 1006 bytes each (key 3, text 3 + 1000): three fit beside the five keys and the flag.
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 0xA9);  // 5 + 3 + flag
  EXPECT_NE(frame.find("\x62t2\x79\x03\xE8"), std::string::npos);
  EXPECT_EQ(frame.find("\x62t3"), std::string::npos);
}

TEST(FrameEncoderTruncation, ExactlyFullIsNotCutOneByteMoreIs) {
  // Body: 78 (five keys of "p", pid 1, comm "", 0 ns, map head) + 2 ("k") + 3 + L = 4096.
  const std::string fits(4013, 'y'), over(4014, 'y');
  bool truncated = true;
  std::array<uint8_t, wire::kMaxFrameBytes> out{};
  ct_extra x = ct::text_extra("k", fits);
  size_t n = wire::encode_frame(ct::make_event("p", 1, "", 0, &x, 1), out, &truncated);
  EXPECT_EQ(n, 4u + 4096u);
  EXPECT_FALSE(truncated);
  x = ct::text_extra("k", over);
  n = wire::encode_frame(ct::make_event("p", 1, "", 0, &x, 1), out, &truncated);
  EXPECT_TRUE(truncated);
  const std::string frame(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_EQ(body_size(frame), 78u + 18u);  // the extra went; the flag (1+16+1) came
  EXPECT_TRUE(ends_with_truncated_flag(frame));
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 0xA6);
  EXPECT_EQ(static_cast<uint8_t>(frame[4 + 1 + 16 + 2]), 0x01);  // content_version 0x0101
}

TEST(FrameEncoderTruncation, InvalidUtf8IsCountedAtItsRepairedSize) {
  // 1300 lone 0xFF bytes become 3900 bytes of U+FFFD: the plan must count those, not 1300.
  const std::string raw(1300, '\xFF');
  const ct_extra x[] = {ct::text_extra("a", raw), ct::text_extra("b", raw)};
  bool truncated = false;
  std::array<uint8_t, wire::kMaxFrameBytes> out{};
  const size_t n = wire::encode_frame(ct::make_event("p", 1, "", 0, x, 2), out, &truncated);
  ASSERT_GT(n, 0u);
  EXPECT_TRUE(truncated);
  EXPECT_LE(n - 4, wire::kMaxBodyBytes);
}

TEST(FrameEncoderTruncation, SeqIsNeverCutAndAnEventsOwnSeqIsSkipped) {
  const std::string item(50, 'a');
  const std::vector<ct_text> items(200, ct_text{item.data(), 50});
  ct_extra x[2] = {ct::uint_extra("seq", 99), list(items)};
  x[1].key = "argv";
  bool truncated = false;
  std::array<uint8_t, wire::kMaxFrameBytes> out{};
  const size_t n =
      wire::encode_frame(ct::make_event("process.exec", 4242, "sh", 1, x, 2), 7, out, &truncated);
  ASSERT_GT(n, 0u);
  const std::string frame(reinterpret_cast<const char*>(out.data()), n);
  EXPECT_TRUE(truncated);
  EXPECT_LE(body_size(frame), wire::kMaxBodyBytes);
  EXPECT_NE(frame.find(std::string("\x63seq\x07")), std::string::npos);      // the sink's seq
  EXPECT_EQ(frame.find(std::string("\x63seq\x18\x63")), std::string::npos);  // not the event's
  EXPECT_EQ(static_cast<uint8_t>(frame[4]), 0xA8);  // the five, seq, argv and the flag
}

TEST(FrameEncoder, RefusesAnOutputThatCannotHoldTheLargestFrame) {
  std::vector<uint8_t> small(100);
  EXPECT_THROW(wire::encode_frame(ct_event{sizeof(ct_event), "p", 1, "", 0, nullptr, 0}, small),
               std::invalid_argument);
}

}  // namespace

// Events without extras take a path of their own (ASCII texts written straight to memory). An
// extra of a type the encoder does not know is skipped, so the same event carrying one takes
// the general path and must come out byte for byte the same, at every length and integer
// boundary, with and without seq.
TEST(FrameEncoderFastPath, SameBytesAsTheGeneralPathAtEveryBoundary) {
  ct_extra unknown{};
  unknown.key = "ignored";
  unknown.value.type = 99;
  const size_t lengths[] = {0, 1, 15, 23, 24, 63, 255, 256, 1024, 1025, 2000};
  const uint64_t numbers[] = {0,    23, 24, 255, 256, 65535, 65536, 0xFFFFFFFFull, 0x100000000ull,
                              ~0ull};
  for (const size_t source_len : lengths) {
    for (const size_t comm_len : lengths) {
      const std::string source = "a." + std::string(source_len, 's');
      const std::string comm(comm_len, 'c');
      for (const uint64_t n : numbers) {
        const ct_event fast{sizeof(ct_event),
                            source.c_str(),
                            static_cast<uint32_t>(n),
                            comm.c_str(),
                            n,
                            nullptr,
                            0};
        ct_event general = fast;
        general.extras = &unknown;
        general.n_extras = 1;
        const std::string what = "source " + std::to_string(source_len) + ", comm " +
                                 std::to_string(comm_len) + ", n " + std::to_string(n);
        EXPECT_EQ(wire::encode_frame(fast), wire::encode_frame(general)) << what;
        EXPECT_EQ(wire::encode_frame(fast, n), wire::encode_frame(general, n)) << what;
      }
    }
  }
  // Null texts are empty on both paths.
  const ct_event nulls{sizeof(ct_event), nullptr, 1, nullptr, 2, nullptr, 0};
  ct_event nulls_general = nulls;
  nulls_general.extras = &unknown;
  nulls_general.n_extras = 1;
  EXPECT_EQ(wire::encode_frame(nulls, 7), wire::encode_frame(nulls_general, 7));
}
