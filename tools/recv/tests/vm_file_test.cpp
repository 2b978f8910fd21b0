// A VM's file in --out-dir: rotation by rename keeping K files, a torn last line removed at
// open, and where an earlier run left the stream.
#include "vm_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "harness.hpp"
#include "wire_test_support.hpp"

namespace rv = cellos::telemetry::recv;
namespace t = cellos::telemetry::testing;

namespace {

std::string line(uint64_t seq, size_t pad = 0) {
  return "{\"vm\":\"a\",\"stream_id\":5,\"content_version\":257,\"probe_source\":\"x.y\","
         "\"note\":\"" +
         std::string(pad, 'p') + "\",\"seq\":" + std::to_string(seq) + "}\n";
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

TEST(VmFile, RotatesByRenameKeepingKFiles) {
  t::TempDir dir;
  constexpr uint64_t kRotate = 65536;
  {
    rv::VmFile f(dir.path(), "a", kRotate, 2);
    for (uint64_t s = 1; s <= 40; ++s) f.append(line(s, 10000));  // about 10 KiB each
  }
  const std::string base = dir.file("a.jsonl");
  EXPECT_TRUE(exists(base));
  EXPECT_TRUE(exists(base + ".1"));
  EXPECT_TRUE(exists(base + ".2"));
  EXPECT_FALSE(exists(base + ".3"));
  for (const std::string& p : {base, base + ".1", base + ".2"}) {
    const std::string text = t::read_file(p);
    EXPECT_LE(text.size(), kRotate) << p;
    EXPECT_EQ(text.back(), '\n') << p;
    EXPECT_EQ(t::parse_json_lines(text).size(), t::count_occurrences(text, "\n")) << p;
  }
  // The newest lines are in the current file, the older ones in .1 then .2.
  EXPECT_NE(t::read_file(base).find("\"seq\":40}"), std::string::npos);
  EXPECT_EQ(rv::last_stream_seq(t::read_file(base + ".1"))->second + 1,
            std::stoull(t::parse_json_lines(t::read_file(base)).front().at("seq")));
}

TEST(VmFile, ATornLastLineIsRemovedAtOpenAndTheLastSeqFound) {
  t::TempDir dir;
  const std::string torn = line(6).substr(0, 30);
  dir.write("a.jsonl", line(4) + line(5) + torn);
  rv::VmFile f(dir.path(), "a", 1 << 20, 1);
  EXPECT_EQ(f.repaired_bytes(), torn.size());
  EXPECT_EQ(t::read_file(dir.file("a.jsonl")), line(4) + line(5));
  ASSERT_TRUE(f.last_seq().has_value());
  EXPECT_EQ(f.last_seq()->first, 5u);
  EXPECT_EQ(f.last_seq()->second, 5u);
  f.append(line(6));
  EXPECT_EQ(t::read_file(dir.file("a.jsonl")), line(4) + line(5) + line(6));
}

TEST(VmFile, AfterARotationTheLastSeqIsInTheRotatedFile) {
  t::TempDir dir;
  dir.write("a.jsonl.1", line(8) + "{\"vm\":\"a\",\"probe_source\":\"agent.hello\"}\n");
  dir.write("a.jsonl", "");
  rv::VmFile f(dir.path(), "a", 1 << 20, 1);
  ASSERT_TRUE(f.last_seq().has_value());
  EXPECT_EQ(f.last_seq()->second, 8u);
  // A seq inside a text value is escaped ("\"seq\":"), never taken for the key.
  EXPECT_FALSE(rv::last_stream_seq("{\"stream_id\":1,\"x\":\",\\\"seq\\\":9\"}\n"));
}

}  // namespace
