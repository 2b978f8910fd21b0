#include "proc_stat.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "fake_proc.hpp"

namespace cp = cellos::telemetry::process;
using cp::testing::FakeProc;

TEST(ProcessParseStat, TakesCommAndFieldTwentyTwo) {
  const std::string line = FakeProc::stat_line(42, "bash", 123456);  // comm points into it
  const auto f = cp::parse_stat(line);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "bash");
  EXPECT_EQ(f->start_time, 123456u);
}

TEST(ProcessParseStat, TakesStateAndParentFromFieldsThreeAndFour) {
  const std::string line =
      "4242 (a) b) Z 77 4242 4242 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 123456 1 2";
  const auto f = cp::parse_stat(line);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "a) b");
  EXPECT_EQ(f->state, 'Z');
  EXPECT_EQ(f->ppid, 77u);  // field 4, not the process group (field 5)
  EXPECT_EQ(f->start_time, 123456u);
}

TEST(ProcessParseStat, CommWithParenthesesAndSpacesEndsAtTheLastParenthesis) {
  const std::string line = FakeProc::stat_line(7, "a) b (c) S 1", 99);
  const auto f = cp::parse_stat(line);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "a) b (c) S 1");
  EXPECT_EQ(f->start_time, 99u);
}

TEST(ProcessParseStat, CommMayBeEmptyOrHoldANewline) {
  const std::string empty = FakeProc::stat_line(7, "", 5);
  auto f = cp::parse_stat(empty);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "");
  const std::string newline = FakeProc::stat_line(7, "x\ny", 6);
  f = cp::parse_stat(newline);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "x\ny");
  EXPECT_EQ(f->start_time, 6u);
}

TEST(ProcessParseStat, StartTimeIsTheLastFieldOfAShortLine) {
  // Older kernels ended earlier; field 22 followed by a newline or nothing is still read.
  const std::string upto22 = "1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 777";
  EXPECT_EQ(cp::parse_stat(upto22)->start_time, 777u);
  EXPECT_EQ(cp::parse_stat(upto22 + "\n")->start_time, 777u);
}

TEST(ProcessParseStat, RejectsCutOrMalformedLines) {
  EXPECT_FALSE(cp::parse_stat(""));
  EXPECT_FALSE(cp::parse_stat("12 (no closing paren S 1 2 3"));
  EXPECT_FALSE(cp::parse_stat("12 no parens at all"));
  EXPECT_FALSE(cp::parse_stat("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0"));
  EXPECT_FALSE(cp::parse_stat("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 x 1"));
  EXPECT_FALSE(cp::parse_stat("1 (init) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12x 1"));
}

TEST(ProcessStripNewline, RemovesOnlyTheKernelsTrailingNewline) {
  EXPECT_EQ(cp::strip_newline("bash\n"), "bash");
  EXPECT_EQ(cp::strip_newline("bash"), "bash");
  EXPECT_EQ(cp::strip_newline("a\nb\n"), "a\nb");
  EXPECT_EQ(cp::strip_newline(""), "");
}

TEST(ProcessWireComm, CutsKernelWorkerNamesToFifteenBytes) {
  EXPECT_EQ(cp::wire_comm("kworker/u4:1-events_unbound"), "kworker/u4:1-ev");
  EXPECT_EQ(cp::wire_comm("exactly15bytes!"), "exactly15bytes!");
  EXPECT_EQ(cp::wire_comm(""), "");
}

TEST(ProcessWireComm, NeverCutsInsideAUtf8Sequence) {
  // 14 ASCII bytes then a 2-byte character: 16 bytes, the character does not fit.
  EXPECT_EQ(cp::wire_comm("abcdefghijklmn\xc3\xa9"), "abcdefghijklmn");
  // 13 ASCII bytes then a 3-byte character: 16 bytes.
  EXPECT_EQ(cp::wire_comm("abcdefghijklm\xe2\x82\xac"), "abcdefghijklm");
  // Bytes that are not UTF-8 at all are cut at 15; the agent repairs them.
  EXPECT_EQ(cp::wire_comm(std::string(20, '\xff')), std::string(15, '\xff'));
}

TEST(ProcessFiles, OwnStatAndCommFromTheRealProc) {
  const int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(proc, 0);
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  const auto st = cp::read_process_stat(proc, static_cast<uint32_t>(getpid()));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->comm, comm);
  EXPECT_GT(st->start_time, 0u);
  EXPECT_EQ(cp::read_process_comm(proc, static_cast<uint32_t>(getpid())), comm);
  close(proc);
}

TEST(ProcessFiles, GoneProcessIsNulloptNotAnError) {
  FakeProc fake;
  const int root = open(fake.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  EXPECT_FALSE(cp::read_process_stat(root, 4242));
  EXPECT_FALSE(cp::read_process_comm(root, 4242));
  fake.write("4242/stat", "4242 (half");  // cut short mid-write
  EXPECT_FALSE(cp::read_process_stat(root, 4242));
  close(root);
}
