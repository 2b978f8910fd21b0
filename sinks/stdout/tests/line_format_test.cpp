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
  EXPECT_EQ(out,
            "     1.500000000 process.exec         pid 42      comm ls  uid=1000  nice=-5  "
            "raced=true  initial=false  cwd=\"/tmp/a \\\"b\\\"\\n\"  argv=[\"ls\",\"-l\"]  "
            "env=[]\n");
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
