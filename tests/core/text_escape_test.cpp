// The two escapers of cellos/telemetry/text.hpp: JSON strings and console text. Neither may let
// a comm (any bytes a workload sets with prctl) drive the terminal it is printed on.
#include <cellos/telemetry/text.hpp>

#include <gtest/gtest.h>

namespace ct = cellos::telemetry;

namespace {

std::string json(std::string_view s) {
  std::string out;
  ct::append_json_string(out, s);
  return out;
}

std::string text(std::string_view s) {
  std::string out;
  ct::append_console_text(out, s);
  return out;
}

// Every character a terminal may act on rather than show: C0, DEL, C1, and the Unicode
// controls that reorder or break lines.
const std::vector<std::pair<std::string, uint32_t>> kInterpreted = {
    {"\xC2\x80", 0x80},       {"\xC2\x85", 0x85},       {"\xC2\x9B", 0x9B},
    {"\xC2\x9D", 0x9D},       {"\xC2\x9F", 0x9F},       {"\xD8\x9C", 0x061C},
    {"\xE2\x80\x8E", 0x200E}, {"\xE2\x80\x8F", 0x200F}, {"\xE2\x80\xA8", 0x2028},
    {"\xE2\x80\xA9", 0x2029}, {"\xE2\x80\xAA", 0x202A}, {"\xE2\x80\xAE", 0x202E},
    {"\xE2\x81\xA6", 0x2066}, {"\xE2\x81\xA9", 0x2069},
};

std::string hex4(uint32_t cp) {
  char b[8];
  std::snprintf(b, sizeof b, "%04x", cp);
  return b;
}

TEST(JsonEscaping, C1AndLineAndBidiControlsAreEscaped) {
  for (const auto& [utf8, cp] : kInterpreted) {
    EXPECT_EQ(json("a" + utf8 + "b"), "\"a\\u" + hex4(cp) + "b\"") << hex4(cp);
  }
  // The console-erasing name of the issue: CSI 2 K.
  EXPECT_EQ(json("\xC2\x9B"
                 "2K"),
            "\"\\u009b2K\"");
}

TEST(JsonEscaping, C0AndDelStayEscaped) {
  EXPECT_EQ(json(std::string("\x1b[2K\x7f\0", 6)), "\"\\u001b[2K\\u007f\\u0000\"");
}

TEST(JsonEscaping, OtherUnicodeAndNeighboursOfTheControlsPassThrough) {
  for (const std::string s : {"caf\xC3\xA9", "\xC2\xA0", "\xC2\x7F", "\xE2\x80\x8D", "\xE2\x80\xAF",
                              "\xE2\x81\xA5", "\xE2\x81\xAA", "\xF0\x9F\x98\x80"}) {
    if (s == "\xC2\x7F") continue;  // not UTF-8; see InvalidUtf8
    EXPECT_EQ(json(s), "\"" + s + "\"");
  }
}

TEST(JsonEscaping, InvalidUtf8BecomesTheReplacementCharacterSoTheLineStaysJson) {
  // A raw 0x9B byte is CSI to an 8-bit console; JSON must be UTF-8 anyway.
  EXPECT_EQ(json("a\x9B"
                 "2K\xFF"),
            "\"a\\ufffd2K\\ufffd\"");
}

TEST(ConsoleText, PrintableTextIncludingUnicodePassesThrough) {
  EXPECT_EQ(text("sleep 10 \"x\" caf\xC3\xA9 \xF0\x9F\x98\x80"),
            "sleep 10 \"x\" caf\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(ConsoleText, C0AndDelAreHexBytesAndBackslashIsDoubled) {
  EXPECT_EQ(text(std::string("a\nb\x1b[2K\x7f\0\\", 10)), "a\\x0ab\\x1b[2K\\x7f\\x00\\\\");
}

TEST(ConsoleText, C1AndLineAndBidiControlsAreCodePoints) {
  for (const auto& [utf8, cp] : kInterpreted) {
    char want[16];
    std::snprintf(want, sizeof want, "\\u{%x}", cp);
    EXPECT_EQ(text("a" + utf8 + "b"), std::string("a") + want + "b");
  }
}

TEST(ConsoleText, InvalidUtf8IsHexBytes) {
  EXPECT_EQ(text("a\x9B"
                 "2K\xC3"),
            "a\\x9b2K\\xc3");
}

TEST(ConsoleText, OutputNeverHoldsAControlWhateverTheInput) {
  std::string all;
  for (int a = 0; a < 256; ++a) {
    all.push_back(static_cast<char>(a));
    all.push_back('\xC2');
    all.push_back(static_cast<char>(a));
  }
  for (const std::string& out : {text(all), json(all)}) {
    ASSERT_TRUE(ct::is_valid_utf8(out));
    for (unsigned char c : out) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << int(c);
    EXPECT_EQ(out.find("\xC2\x80"), std::string::npos);
    for (int c1 = 0x80; c1 < 0xA0; ++c1) {
      EXPECT_EQ(out.find(std::string("\xC2") + static_cast<char>(c1)), std::string::npos) << c1;
    }
  }
}

}  // namespace
