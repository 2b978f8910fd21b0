// recv's JSON lines, from frames the wire's encoder wrote and its decoder read back (the decoder's
// own tests are in wire/tests).
#include "json_line.hpp"

#include <gtest/gtest.h>
#include <cellos/telemetry/sdk.hpp>

#include <string>
#include <vector>

#include "frame_decoder.hpp"
#include "frame_encoder.hpp"

namespace ct = cellos::telemetry;
namespace recv = cellos::telemetry::recv;
namespace wire = cellos::telemetry::wire;

namespace {

// encode_frame(e), decoded back: what the receiver turns into a line.
wire::Frame round_trip(const ct_event& e) {
  const std::string frame = wire::encode_frame(e);
  const std::vector<uint8_t> bytes(frame.begin(), frame.end());
  std::string error;
  auto f = wire::decode_body(std::span(bytes).subspan(4), &error);
  EXPECT_TRUE(f.has_value()) << error;
  return f.value_or(wire::Frame{});
}

TEST(JsonLine, WireKeysFirstThenExtrasAtTheirLimits) {
  const ct_extra extras[] = {ct::uint_extra("dropped_count", 300), ct::uint_extra("z", 0)};
  const ct_event e{sizeof(ct_event),
                   "telemetry.dropped",
                   4294967295u,
                   "a\xEF\xBF\xBD",
                   18446744073709551615ull,
                   extras,
                   2};
  std::string line;
  recv::append_json_line(round_trip(e), line);
  EXPECT_EQ(line,
            "{\"content_version\":257,\"probe_source\":\"telemetry.dropped\",\"guest_pid\":"
            "4294967295,\"guest_comm\":\"a\xEF\xBF\xBD\",\"guest_monotonic_ns\":"
            "18446744073709551615,\"dropped_count\":300,\"z\":0}\n");
}

TEST(JsonLine, EscapesQuotesBackslashesAndControls) {
  wire::Frame f;
  f.content_version = 0x0100;
  f.guest_comm = "a\"b\\c\n\x01";
  std::string line;
  recv::append_json_line(f, line);
  EXPECT_NE(line.find(R"("guest_comm":"a\"b\\c\n\u0001")"), std::string::npos) << line;
}

TEST(JsonLine, EveryExtraType) {
  const ct_text argv[] = {{"ls", 2}, {"-l \"x\"", 6}};
  ct_extra list{"argv", {CT_VALUE_TEXT_LIST, 0, {}}};
  list.value.as.list = ct_text_list{argv, 2};
  ct_extra neg{"nice", {CT_VALUE_NEGINT, 0, {}}};
  neg.value.as.i = -5;
  ct_extra yes{"raced", {CT_VALUE_BOOL, 0, {}}};
  yes.value.as.b = 1;
  ct_extra empty{"env", {CT_VALUE_TEXT_LIST, 0, {}}};
  const ct_extra extras[] = {ct::uint_extra("uid", 1000),      neg,  yes,
                             ct::text_extra("cwd", "/t\xFFp"), list, empty};
  std::string line;
  recv::append_json_line(round_trip(ct::make_event("process.exec", 42, "ls", 7, extras, 6)), line);
  EXPECT_EQ(line,
            "{\"content_version\":257,\"probe_source\":\"process.exec\",\"guest_pid\":42,"
            "\"guest_comm\":\"ls\",\"guest_monotonic_ns\":7,\"uid\":1000,\"nice\":-5,"
            "\"raced\":true,\"cwd\":\"/t\xEF\xBF\xBDp\",\"argv\":[\"ls\",\"-l \\\"x\\\"\"],"
            "\"env\":[]}\n");
}

}  // namespace
