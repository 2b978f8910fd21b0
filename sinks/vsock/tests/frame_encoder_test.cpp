// Golden frames, derived by hand from RFC 8949 (not from the encoder), so the encoder is held to
// the bytes the host expects. Notation used in the comments:
//   major type 0 (unsigned): 0x00..0x17 value itself; 0x18 + 1 byte; 0x19 + 2; 0x1A + 4; 0x1B + 8
//   major type 3 (text):     0x60 + length when < 24, else 0x78 + 1-byte length
//   major type 5 (map):      0xA0 + number of pairs when < 24
// Preferred serialization (section 4.2.1) requires the shortest of these forms.
#include "frame_encoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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
  const ct_event e{"process.spawned", 1, "", 0, nullptr, 0};
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
  const ct_event e{"process.exited",        4294967295u, "abcdefghijklmno",
                   18446744073709551615ull, nullptr,     0};
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
  const ct_event e{"process.exec", 65536, "a\xEF\xBF\xBD", 4294967296ull, nullptr, 0};
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
  const ct_extra extra{"dropped_count", 300};
  const ct_event e{"telemetry.dropped", 255, "cellos-telemetr", 24, &extra, 1};
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
    const Bytes f = encode(ct_event{"p", pid, "", 0, nullptr, 0});
    // 4 prefix + A5 + (1+15) + 3 + (1+12) + (1+1 "p") + (1+9 "guest_pid") = 49
    const Bytes got(f.begin() + 49, f.begin() + 49 + static_cast<long>(expected.size()));
    EXPECT_EQ(hex(got), hex(expected)) << "pid " << pid;
  }
}

TEST(FrameEncoder, InvalidUtf8IsRepairedNeverPassedThrough) {
  // A lone 0xFF and a truncated two-byte sequence: each becomes one U+FFFD.
  const Bytes repaired =
      encode(ct_event{"process.exec", 65536, "a\xFF", 4294967296ull, nullptr, 0});
  const Bytes reference =
      encode(ct_event{"process.exec", 65536, "a\xEF\xBF\xBD", 4294967296ull, nullptr, 0});
  EXPECT_EQ(hex(repaired), hex(reference));
  const Bytes cut = encode(ct_event{"p", 1, "\xC3", 0, nullptr, 0});
  const Bytes cut_ref = encode(ct_event{"p", 1, "\xEF\xBF\xBD", 0, nullptr, 0});
  EXPECT_EQ(hex(cut), hex(cut_ref));
}

TEST(FrameEncoder, NullStringsAreEmpty) {
  EXPECT_EQ(hex(encode(ct_event{nullptr, 1, nullptr, 0, nullptr, 0})),
            hex(encode(ct_event{"", 1, "", 0, nullptr, 0})));
}

TEST(FrameEncoder, BodyAtTheLimitIsSentOneByteMoreIsNot) {
  // Body: 1 + 16 + 3 + 13 + (1+1 "p") + 10 + 1 + 11 + (3 + n) + 19 + 1 = 80 + n, the comm's
  // header being 0x79 + 2 bytes for 256 <= n < 65536; n = 4016 makes exactly 4096.
  const std::string fits(4016, 'x');
  const std::string too_long(4017, 'x');
  const std::string frame = wire::encode_frame(ct_event{"p", 1, fits.c_str(), 0, nullptr, 0});
  ASSERT_EQ(frame.size(), 4u + 4096u);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0x00);  // 4096 = 0x1000, little-endian
  EXPECT_EQ(static_cast<uint8_t>(frame[1]), 0x10);
  EXPECT_TRUE(wire::encode_frame(ct_event{"p", 1, too_long.c_str(), 0, nullptr, 0}).empty());
}

TEST(FrameEncoder, RefusesAnOutputThatCannotHoldTheLargestFrame) {
  std::vector<uint8_t> small(100);
  EXPECT_THROW(wire::encode_frame(ct_event{"p", 1, "", 0, nullptr, 0}, small),
               std::invalid_argument);
}

}  // namespace
