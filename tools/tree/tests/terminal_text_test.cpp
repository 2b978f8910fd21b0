#include "terminal_text.hpp"

#include <gtest/gtest.h>

namespace tr = cellos::telemetry::tree;

TEST(TreeTerminalText, HarmlessArgumentsAsTheyAre) {
  EXPECT_EQ(tr::quote_argv({"cc", "-c", "a.c", "-o", "/tmp/a.o", "X=1", "user@host:2,3%"}),
            "cc -c a.c -o /tmp/a.o X=1 user@host:2,3%");
}

TEST(TreeTerminalText, SpacesShellSyntaxAndEmptyAreQuoted) {
  EXPECT_EQ(tr::quote_argument("a b"), "'a b'");
  EXPECT_EQ(tr::quote_argument(""), "''");
  EXPECT_EQ(tr::quote_argument("$HOME;rm *"), "'$HOME;rm *'");
  EXPECT_EQ(tr::quote_argument("caf\xc3\xa9"), "'caf\xc3\xa9'");
  EXPECT_EQ(tr::quote_argument("it's"), "$'it\\'s'");
  EXPECT_EQ(tr::quote_argument("back\\slash"), "'back\\slash'");
}

TEST(TreeTerminalText, ControlCharactersNeverReachTheTerminal) {
  // Retitle the window, clear the screen, ring the bell.
  EXPECT_EQ(tr::quote_argument("\x1b]0;pwned\x07\x1b[2J"), "$'\\e]0;pwned\\a\\e[2J'");
  EXPECT_EQ(tr::quote_argument("a\nb\tc\rd\x7f"), "$'a\\nb\\tc\\rd\\x7f'");
  // C1 CSI (U+009B), which some terminals obey like ESC [.
  EXPECT_EQ(tr::quote_argument("\xc2\x9b"
                               "2J"),
            "$'\\u009b2J'");
  // A right-to-left override would make the rest read backwards.
  EXPECT_EQ(tr::quote_argument("\xe2\x80\xae"
                               "evil"),
            "$'\\u202eevil'");
  EXPECT_EQ(tr::quote_argument("\xe2\x81\xa6x"), "$'\\u2066x'");
}

TEST(TreeTerminalText, InvalidUtf8BytesAreEscaped) {
  EXPECT_EQ(tr::quote_argument("a\xff"
                               "b"),
            "$'a\\xffb'");
  EXPECT_EQ(tr::quote_argument("\xe2\x82"), "$'\\xe2\\x82'");
}

TEST(TreeTerminalText, NamesUnquotedUnlessUnsafe) {
  EXPECT_EQ(tr::safe_name("kworker/0:1 H"), "kworker/0:1 H");
  EXPECT_EQ(tr::safe_name("evil\x1b[2J"), "$'evil\\e[2J'");
}
