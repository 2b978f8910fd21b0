// ConsoleWriter against real pipes and files: whole lines, bounded, never blocking, drops
// counted and reported where they happened.
#include "console_writer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "harness.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

const std::string kNotice = "agent: warning: ";

std::string read_all(int fd) {
  std::string out;
  char buf[65536];
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 0) > 0 && (p.revents & POLLIN)) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
    r = fds[0];
    w = fds[1];
    fcntl(w, F_SETPIPE_SZ, 4096);  // one page: quick to fill
  }
  ~Pipe() {
    if (r >= 0) close(r);
    if (w >= 0) close(w);
  }
};

TEST(ConsoleWriter, WritesWholeLinesInOrder) {
  Pipe p;
  ct::ConsoleWriter w(p.w, kNotice);
  EXPECT_TRUE(w.write_line("one"));
  EXPECT_TRUE(w.write_line("two"));
  EXPECT_EQ(read_all(p.r), "one\ntwo\n");
  EXPECT_EQ(w.pending_fd(), -1);
}

TEST(ConsoleWriter, LeavesTheSharedDescriptionBlocking) {
  Pipe p;
  ct::ConsoleWriter w(p.w, kNotice);
  w.write_line("x");
  EXPECT_EQ(fcntl(p.w, F_GETFL) & O_NONBLOCK, 0);
}

TEST(ConsoleWriter, AFullPipeNeverBlocksAndDropsAreReportedWhereTheyHappened) {
  Pipe p;
  ct::ConsoleWriter w(p.w, kNotice, 1024);
  // 20-byte lines: the one-page pipe takes ~200, the buffer ~50, the rest is dropped.
  int written = 0, dropped = 0;
  for (int i = 0; i < 1000; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "line %014d", i);
    (w.write_line(line) ? written : dropped)++;
  }
  EXPECT_GT(dropped, 0);
  EXPECT_EQ(w.dropped_total(), static_cast<uint64_t>(dropped));
  EXPECT_LE(w.buffered(), 1024u);
  EXPECT_EQ(w.pending_fd() >= 0, true);
  // The console drains; everything buffered, then the notice, then what comes next.
  std::string out;
  while (!w.flush()) out += read_all(p.r);
  out += read_all(p.r);
  w.write_line("after");
  out += read_all(p.r);
  EXPECT_EQ(w.pending_fd(), -1);
  std::string expected;
  for (int i = 0; i < written; ++i) {
    char line[32];
    std::snprintf(line, sizeof line, "line %014d\n", i);
    expected += line;
  }
  expected += kNotice + std::to_string(dropped) +
              " log line(s) dropped: the console was not taking output\nafter\n";
  EXPECT_EQ(out, expected);
}

TEST(ConsoleWriter, KeepsDroppingUntilTheBacklogHasDrainedSoTheGapIsOne) {
  Pipe p;
  ct::ConsoleWriter w(p.w, kNotice, 256);
  while (w.write_line("0123456789")) {
  }
  // Room frees up in the buffer, but lines still go while the backlog is not gone, so the
  // notice stands for one contiguous gap.
  char buf[64];
  ASSERT_GT(read(p.r, buf, sizeof buf), 0);
  w.flush();
  EXPECT_FALSE(w.write_line("0123456789"));
  EXPECT_EQ(w.dropped_total(), 2u);
}

TEST(ConsoleWriter, LongLinesAreCutToWhatAPipeTakesWhole) {
  Pipe p;
  fcntl(p.w, F_SETPIPE_SZ, 65536);
  ct::ConsoleWriter w(p.w, kNotice);
  w.write_line(std::string(10000, 'x'));
  EXPECT_EQ(read_all(p.r), std::string(PIPE_BUF - 1, 'x') + "\n");
}

TEST(ConsoleWriter, ARegularFileIsAppendedToWhateverTheSharedOffset) {
  t::TempDir dir;
  const std::string path = dir.file("f");
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "shell\n", 6), 6);
  {
    ct::ConsoleWriter w(fd, kNotice);
    w.write_line("agent");
  }
  close(fd);
  // A description of its own at offset 0 would have overwritten "shell\n".
  EXPECT_EQ(t::read_file(path), "shell\nagent\n");
}

TEST(ConsoleWriter, AReaderlessPipeIsGivenUpSilently) {
  signal(SIGPIPE, SIG_IGN);  // as the agent does
  Pipe p;
  ct::ConsoleWriter w(p.w, kNotice);
  close(p.r);
  p.r = -1;
  EXPECT_FALSE(w.write_line("nobody") && w.write_line("reads"));
  EXPECT_EQ(w.pending_fd(), -1);
  EXPECT_TRUE(w.flush());
}

TEST(ConsoleWriter, AClosedFdIsGivenUpSilently) {
  ct::ConsoleWriter w(987654, kNotice);
  EXPECT_FALSE(w.write_line("x"));
  EXPECT_EQ(w.pending_fd(), -1);
}

}  // namespace
