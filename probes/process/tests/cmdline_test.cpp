// Splitting /proc/PID/cmdline (untrusted bytes) into argv, bounded to fit a frame.
#include "cmdline.hpp"

#include <cellos/telemetry/plugin_abi.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cp = cellos::telemetry::process;
using namespace std::string_literals;
using Argv = std::vector<std::string>;

namespace {

Argv split(const std::string& raw, size_t max_bytes, bool* truncated = nullptr) {
  cp::ExecContext c;
  cp::split_cmdline(raw, max_bytes, c);
  if (truncated) *truncated = c.argv_truncated;
  return Argv(c.argv.begin(), c.argv.end());
}

}  // namespace

TEST(ProcessCmdline, EachNulEndsAnArgumentAndEmptyOnesAreKept) {
  bool cut = true;
  EXPECT_EQ(split("sh\0-c\0echo 'a b' \"q\"\0\0last\0"s, 1024, &cut),
            (Argv{"sh", "-c", "echo 'a b' \"q\"", "", "last"}));
  EXPECT_FALSE(cut);
}

TEST(ProcessCmdline, RewrittenCommandLineWithoutFinalNulIsOneArgument) {
  // setproctitle: "nginx: worker process" overwrites argv with one string, NUL-less.
  EXPECT_EQ(split("nginx: worker process", 1024), (Argv{"nginx: worker process"}));
  EXPECT_EQ(split("", 1024), Argv{});  // a kernel thread, or a zombie: no memory left
}

TEST(ProcessCmdline, InvalidUtf8IsRepairedPerMaximalSubpart) {
  EXPECT_EQ(split("a\xff\0\xe2\x82\0ok\xc3\xa9\0"s, 1024),
            (Argv{"a\xef\xbf\xbd", "\xef\xbf\xbd", "ok\xc3\xa9"}));
}

TEST(ProcessCmdline, CutAtTheBoundCountingEachNulAndFlagged) {
  bool cut = false;
  // "abc\0" is 4 bytes, "defgh\0" 6: a bound of 7 keeps abc and two bytes of defgh.
  EXPECT_EQ(split("abc\0defgh\0"s, 7, &cut), (Argv{"abc", "de"}));
  EXPECT_TRUE(cut);
  EXPECT_EQ(split("abc\0defgh\0"s, 10, &cut), (Argv{"abc", "defgh"}));
  EXPECT_FALSE(cut);
  // No room for even one byte of the next argument: it is left out, not shown empty.
  EXPECT_EQ(split("abc\0defgh\0"s, 5, &cut), (Argv{"abc"}));
  EXPECT_TRUE(cut);
  EXPECT_EQ(split("abc\0"s, 0, &cut), Argv{});
  EXPECT_TRUE(cut);
}

TEST(ProcessCmdline, NeverCutsInsideACharacterAndCountsRepairedBytes) {
  bool cut = false;
  // "é" is two bytes: with room for 2 of "aéé" only "a" fits whole.
  EXPECT_EQ(split("a\xc3\xa9\xc3\xa9\0"s, 3, &cut), (Argv{"a"}));
  EXPECT_TRUE(cut);
  // One invalid byte becomes three: U+FFFD.
  EXPECT_EQ(split("\xff\xff\0"s, 4, &cut), (Argv{"\xef\xbf\xbd"}));
  EXPECT_TRUE(cut);
}

TEST(ProcessCmdline, ListAndItemLimitsOfTheAbiHold) {
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "x"s + '\0';
  bool cut = false;
  EXPECT_EQ(split(many, 4000, &cut).size(), static_cast<size_t>(CT_MAX_LIST_ITEMS));
  EXPECT_TRUE(cut);
  const Argv one = split(std::string(3000, 'y') + '\0', 4000, &cut);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].size(), static_cast<size_t>(CT_MAX_TEXT_BYTES));
  EXPECT_TRUE(cut);
}

TEST(ProcessBoundedText, RepairsAndCutsAtACharacterBoundary) {
  std::string out;
  EXPECT_FALSE(cp::bounded_text("/usr/bin/true", 1024, out));
  EXPECT_EQ(out, "/usr/bin/true");
  EXPECT_TRUE(cp::bounded_text("/tmp/\xc3\xa9t\xc3\xa9", 7, out));
  EXPECT_EQ(out, "/tmp/\xc3\xa9");
  EXPECT_FALSE(cp::bounded_text("/tmp/\x80", 1024, out));
  EXPECT_EQ(out, "/tmp/\xef\xbf\xbd");
}
