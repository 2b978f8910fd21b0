#include "line_format.hpp"

#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/text.hpp>

#include <gtest/gtest.h>

namespace sink = cellos::telemetry::stdout_sink;

namespace {

std::string json_of(std::string_view s) {
  std::string out;
  cellos::telemetry::append_json_string(out, s);
  return out;
}

TEST(JsonEscaping, PlainTextPassesThrough) {
  EXPECT_EQ(json_of("sleep"), "\"sleep\"");
}

TEST(JsonEscaping, QuotesAndBackslashesAreEscaped) {
  EXPECT_EQ(json_of("a\"b\\c"), "\"a\\\"b\\\\c\"");
}

TEST(JsonEscaping, ControlCharactersAreEscaped) {
  EXPECT_EQ(json_of("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_of(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\\u007f\"");
}

TEST(JsonEscaping, Utf8PassesThroughUnchanged) {
  EXPECT_EQ(json_of("\xEF\xBF\xBD\xC3\xA9"), "\"\xEF\xBF\xBD\xC3\xA9\"");
}

TEST(JsonLine, HasTheWireKeysInOrderAndExtrasAfter) {
  const ct_extra extras[] = {cellos::telemetry::uint_extra("dropped_count", 7)};
  const ct_event e{sizeof(ct_event),
                   "telemetry.dropped",
                   4294967295u,
                   "a\"b",
                   18446744073709551615ull,
                   extras,
                   1};
  std::string out;
  sink::append_json_line(out, e);
  EXPECT_EQ(out,
            "{\"probe_source\":\"telemetry.dropped\",\"guest_pid\":4294967295,\"guest_comm\":"
            "\"a\\\"b\",\"guest_monotonic_ns\":18446744073709551615,\"dropped_count\":7}\n");
}

TEST(TextLine, IsOneAlignedLineWithoutControlCharacters) {
  const ct_event e{sizeof(ct_event), "process.spawned", 42, "evil\nline",
                   1500000000ull,    nullptr,           0};
  std::string out;
  sink::append_text_line(out, e);
  EXPECT_EQ(out, "     1.500000000 process.spawned      pid 42      comm evil\\x0aline\n");
}

TEST(TextLine, C1ControlsInACommCannotDriveTheConsole) {
  // U+009B is CSI to the Linux console: "\u009b2K" would erase the line.
  const ct_event e{sizeof(ct_event),
                   "process.exec",
                   7,
                   "\xC2\x9B"
                   "2K\xC2\x85\xC2\x9D\xE2\x80\xAE\x1b",
                   0,
                   nullptr,
                   0};
  std::string out;
  sink::append_text_line(out, e);
  EXPECT_EQ(out,
            "     0.000000000 process.exec         pid 7       comm "
            "\\u{9b}2K\\u{85}\\u{9d}\\u{202e}\\x1b\n");
}

TEST(JsonLine, C1ControlsInACommAreEscaped) {
  const ct_event e{sizeof(ct_event),
                   "process.exec",
                   7,
                   "\xC2\x9B"
                   "2K\xE2\x80\xA8",
                   0,
                   nullptr,
                   0};
  std::string out;
  sink::append_json_line(out, e);
  EXPECT_EQ(out,
            "{\"probe_source\":\"process.exec\",\"guest_pid\":7,\"guest_comm\":"
            "\"\\u009b2K\\u2028\",\"guest_monotonic_ns\":0}\n");
}

// One event with every extra type, as the SDK builds it.
const ct_event& typed_event() {
  static cellos::telemetry::EventBuilder b = [] {
    cellos::telemetry::EventBuilder x("process.exec", 42, "ls", 1500000000ull);
    x.u("uid", 1000).i("nice", -5).b("raced", true).b("initial", false);
    x.text("cwd", "/tmp/a \"b\"\n").list("argv", {"ls", "-l"}).list("env", {});
    return x;
  }();
  return b.event();
}

TEST(JsonLine, ShowsTypedExtrasAsJsonValues) {
  std::string out;
  sink::append_json_line(out, typed_event());
  EXPECT_EQ(out,
            "{\"probe_source\":\"process.exec\",\"guest_pid\":42,\"guest_comm\":\"ls\","
            "\"guest_monotonic_ns\":1500000000,\"uid\":1000,\"nice\":-5,\"raced\":true,"
            "\"initial\":false,\"cwd\":\"/tmp/a \\\"b\\\"\\n\",\"argv\":[\"ls\",\"-l\"],"
            "\"env\":[]}\n");
}

TEST(TextLine, ShowsTypedExtrasAsKeyEqualsValueOnOneLine) {
  std::string out;
  sink::append_text_line(out, typed_event());
  // argv, the ledger's argument list, comes last as a command line (see below).
  EXPECT_EQ(out,
            "     1.500000000 process.exec         pid 42      comm ls  uid=1000  nice=-5  "
            "raced=true  initial=false  cwd=\"/tmp/a \\\"b\\\"\\n\"  env=[]  argv: ls -l\n");
}

// The process ledger's extras (issue 12) read as a person would write them: the parent next to
// the pid, the exit status in words, the arguments as a command line, last.
std::string text_of(const cellos::telemetry::EventBuilder& b) {
  std::string out;
  sink::append_text_line(out, b.event());
  return out;
}

TEST(TextLine, ShowsTheParentRightAfterTheName) {
  cellos::telemetry::EventBuilder b("process.spawned", 4242, "sh", 2000000000ull);
  b.u("process_id", 99).u("ppid", 1).u("parent_id", 7).u("start_ns", 5);
  EXPECT_EQ(text_of(b),
            "     2.000000000 process.spawned      pid 4242    comm sh  ppid 1  process_id=99  "
            "parent_id=7  start_ns=5\n");
}

TEST(TextLine, ShowsAnExitCode) {
  cellos::telemetry::EventBuilder b("process.exited", 7, "false", 3000000000ull);
  b.u("exit_code", 3).u("duration_ns", 1000);
  EXPECT_EQ(text_of(b),
            "     3.000000000 process.exited       pid 7       comm false  exit 3  "
            "duration_ns=1000\n");
}

TEST(TextLine, ShowsTheKillingSignalByNumberAndNameAndACoreDump) {
  cellos::telemetry::EventBuilder b("process.exited", 7, "crash", 0);
  b.u("signal", 11).b("core_dumped", true);
  EXPECT_EQ(text_of(b),
            "     0.000000000 process.exited       pid 7       comm crash  signal 11 (SIGSEGV), "
            "core dumped\n");
  cellos::telemetry::EventBuilder k("process.exited", 8, "sleep", 0);
  k.u("signal", 9).b("core_dumped", false);
  EXPECT_EQ(text_of(k),
            "     0.000000000 process.exited       pid 8       comm sleep  signal 9 (SIGKILL)\n");
  cellos::telemetry::EventBuilder n("process.exited", 9, "odd", 0);
  n.u("signal", 77);  // no name: the number alone
  EXPECT_EQ(text_of(n), "     0.000000000 process.exited       pid 9       comm odd  signal 77\n");
}

TEST(TextLine, ShowsArgumentsAsACommandLineQuotedOnlyWhereNeeded) {
  cellos::telemetry::EventBuilder b("process.exec", 5, "grep", 0);
  b.list("argv", {"grep", "-e", "a b", "", "say \"hi\"", "back\\slash", "caf\xc3\xa9"});
  EXPECT_EQ(
      text_of(b),
      "     0.000000000 process.exec         pid 5       comm grep  argv: grep -e \"a b\" \"\" "
      "\"say \\\"hi\\\"\" \"back\\\\slash\" caf\xc3\xa9\n");
}

TEST(TextLine, HostileArgumentsNeverBreakTheLineOrDriveTheConsole) {
  cellos::telemetry::EventBuilder b("process.exec", 5, "x", 0);
  // A newline, ESC [2J (clear screen), CSI as C1 (U+009B), a right-to-left override, a tab.
  b.list("argv", {"x", "a\nb", "\x1b[2J",
                  "\xc2\x9b"
                  "2K",
                  "\xe2\x80\xae"
                  "evil",
                  "t\tab"});
  const std::string line = text_of(b);
  EXPECT_EQ(line,
            "     0.000000000 process.exec         pid 5       comm x  argv: x \"a\\nb\" "
            "\"\\u001b[2J\" \"\\u009b2K\" \"\\u202eevil\" \"t\\tab\"\n");
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  for (unsigned char c : line.substr(0, line.size() - 1)) EXPECT_GE(c, 0x20) << line;
}

TEST(TextLine, SaysWhenTheArgumentsWereCutOrEmpty) {
  cellos::telemetry::EventBuilder b("process.exec", 5, "yes", 0);
  b.list("argv", {"yes", "y"}).b("argv_truncated", true);
  EXPECT_EQ(text_of(b),
            "     0.000000000 process.exec         pid 5       comm yes  argv: yes y ... "
            "(truncated)\n");
  cellos::telemetry::EventBuilder e("process.exec", 5, "none", 0);
  e.list("argv", {}).b("argv_truncated", false);
  EXPECT_EQ(text_of(e),
            "     0.000000000 process.exec         pid 5       comm none  argv: (none)\n");
}

TEST(TextLine, LedgerKeysOfAnUnexpectedTypeStayKeyEqualsValue) {
  cellos::telemetry::EventBuilder b("process.exited", 5, "x", 0);
  b.text("ppid", "one").text("signal", "KILL").text("argv", "ls -l");
  EXPECT_EQ(text_of(b),
            "     0.000000000 process.exited       pid 5       comm x  ppid=\"one\"  "
            "signal=\"KILL\"  argv=\"ls -l\"\n");
}

TEST(JsonLine, CarriesTheLedgerExtrasUnchanged) {
  cellos::telemetry::EventBuilder b("process.exited", 7, "crash", 0);
  b.u("ppid", 1).u("signal", 11).b("core_dumped", true).list("argv", {"a b"});
  std::string out;
  sink::append_json_line(out, b.event());
  EXPECT_EQ(out,
            "{\"probe_source\":\"process.exited\",\"guest_pid\":7,\"guest_comm\":\"crash\","
            "\"guest_monotonic_ns\":0,\"ppid\":1,\"signal\":11,\"core_dumped\":true,"
            "\"argv\":[\"a b\"]}\n");
}

TEST(JsonLine, SkipsAnExtraOfAnUnknownType) {
  const ct_extra x[] = {ct_extra{"future", {77, 0, {}}}, cellos::telemetry::uint_extra("n", 1)};
  const ct_event e = cellos::telemetry::make_event("a.b", 1, "c", 2, x, 2);
  std::string json, text;
  sink::append_json_line(json, e);
  sink::append_text_line(text, e);
  EXPECT_EQ(json,
            "{\"probe_source\":\"a.b\",\"guest_pid\":1,\"guest_comm\":\"c\","
            "\"guest_monotonic_ns\":2,\"n\":1}\n");
  EXPECT_EQ(text.find("future"), std::string::npos) << text;
}

}  // namespace
