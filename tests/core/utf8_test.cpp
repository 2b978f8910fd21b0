#include <cellos/telemetry/text.hpp>

#include <gtest/gtest.h>

#include <string>

namespace ct = cellos::telemetry;

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchanged) {
  for (const std::string s :
       {"", "sleep", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF"}) {
    EXPECT_TRUE(ct::is_valid_utf8(s)) << s;
    EXPECT_EQ(ct::repair_utf8(s), s);
  }
}

TEST(Utf8, StrayBytesBecomeOneReplacementEach) {
  EXPECT_EQ(ct::repair_utf8("a\xFF"
                            "b"),
            "a" + kFffd + "b");
  EXPECT_EQ(ct::repair_utf8("\x80\x80"), kFffd + kFffd);
  EXPECT_EQ(ct::repair_utf8("\xC0\xAF"), kFffd + kFffd);  // overlong '/' : C0 never valid
}

TEST(Utf8, TruncatedSequenceIsOneReplacement) {
  EXPECT_EQ(ct::repair_utf8("\xE2\x82"), kFffd);  // maximal subpart of a 3-byte seq
  EXPECT_EQ(ct::repair_utf8("\xF0\x9F\x98"
                            "x"),
            kFffd + "x");
}

TEST(Utf8, SurrogatesAndOutOfRangeAreRejected) {
  EXPECT_FALSE(ct::is_valid_utf8("\xED\xA0\x80"));  // U+D800
  EXPECT_EQ(ct::repair_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_FALSE(ct::is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(ct::is_valid_utf8("\xE0\x80\xAF"));      // overlong 3-byte
}

TEST(Utf8, RepairedOutputIsAlwaysValid) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_TRUE(ct::is_valid_utf8(ct::repair_utf8(all)));
}

// is_ascii reads a short text as overlapping words: every length, a high byte at every place.
TEST(Utf8, AsciiCheckSeesAHighByteAtAnyPlaceOfAnyLength) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string s(n, 'a');
    EXPECT_TRUE(ct::is_ascii(s)) << n;
    for (size_t at = 0; at < n; ++at) {
      std::string t = s;
      t[at] = '\x80';
      EXPECT_FALSE(ct::is_ascii(t)) << n << " " << at;
      EXPECT_FALSE(ct::is_valid_utf8(t)) << n << " " << at;
      t[at] = '\xff';
      EXPECT_FALSE(ct::is_ascii(t)) << n << " " << at;
    }
  }
  EXPECT_TRUE(ct::is_valid_utf8("caf\xc3\xa9 and more"));  // not ASCII, valid
}

}  // namespace
