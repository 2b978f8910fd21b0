// Verifies on this kernel what the sink's no-loss promise rests on: SIOCOUTQ on a Unix stream
// socket counts what the reader has not consumed, and a dead reader is never mistaken for one
// that consumed everything.
#include "peer_consumption.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace wire = cellos::telemetry::wire;

namespace {

struct Pair {
  int writer = -1, reader = -1;
  Pair() {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) {
      writer = fds[0];
      reader = fds[1];
    }
  }
  ~Pair() {
    if (writer >= 0) close(writer);
    if (reader >= 0) close(reader);
  }
};

void write_all(int fd, size_t n) {
  std::vector<char> data(n, 'x');
  ASSERT_EQ(send(fd, data.data(), n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
}

TEST(PeerConsumption, CountsUnreadBytesAndDropsToZeroOnceRead) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  EXPECT_EQ(wire::unconsumed_bytes(p.writer).status, wire::Unconsumed::kKnown);
  EXPECT_EQ(wire::unconsumed_bytes(p.writer).bytes, 0u);
  write_all(p.writer, 1000);
  const auto before = wire::unconsumed_bytes(p.writer);
  ASSERT_EQ(before.status, wire::Unconsumed::kKnown);
  EXPECT_GE(before.bytes, 1000u);  // at least what is unread (it counts buffer memory)
  char buf[1000];
  ASSERT_EQ(recv(p.reader, buf, sizeof buf, 0), 1000);
  const auto after = wire::unconsumed_bytes(p.writer);
  EXPECT_EQ(after.status, wire::Unconsumed::kKnown);
  EXPECT_EQ(after.bytes, 0u);
}

TEST(PeerConsumption, PartlyReadDataStillCountsWhatIsLeft) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 4000);
  char buf[3000];
  ASSERT_EQ(recv(p.reader, buf, sizeof buf, 0), 3000);
  const auto u = wire::unconsumed_bytes(p.writer);
  ASSERT_EQ(u.status, wire::Unconsumed::kKnown);
  EXPECT_GE(u.bytes, 1000u);
}

TEST(PeerConsumption, ReaderDyingWithUnreadDataIsNeverTakenForConsumption) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 5000);
  close(p.reader);  // as a SIGKILLed listener: its queue, with our 5000 bytes, is freed
  p.reader = -1;
  const auto u = wire::unconsumed_bytes(p.writer);
  EXPECT_EQ(u.status, wire::Unconsumed::kPeerGone);
}

TEST(PeerConsumption, ReaderClosingAfterReadingEverythingIsAlsoGone) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 10);
  char buf[10];
  ASSERT_EQ(recv(p.reader, buf, sizeof buf, 0), 10);
  close(p.reader);
  p.reader = -1;
  EXPECT_EQ(wire::unconsumed_bytes(p.writer).status, wire::Unconsumed::kPeerGone);
}

TEST(PeerConsumption, SocketsWithoutTheCountSaySo) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const auto u = wire::unconsumed_bytes(fds[1]);
  // A pipe is no socket: SIOCOUTQ is refused and the caller falls back.
  EXPECT_EQ(u.status, wire::Unconsumed::kUnsupported);
  EXPECT_NE(u.error, 0);
  close(fds[0]);
  close(fds[1]);
}

// Reads from the writer's end until end of stream; false on anything else (a reset, no data).
bool reads_end_of_stream(int fd) {
  char buf[16];
  return recv(fd, buf, sizeof buf, MSG_DONTWAIT) == 0;
}

TEST(PeerConsumption, CleanCloseAfterReadingEverythingMeansAllConsumed) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 100);
  char buf[100];
  ASSERT_EQ(recv(p.reader, buf, sizeof buf, 0), 100);
  close(p.reader);
  p.reader = -1;
  ASSERT_TRUE(reads_end_of_stream(p.writer));  // no reset
  const auto u = wire::unix_unconsumed_at_end_of_stream(p.writer);
  ASSERT_EQ(u.status, wire::Unconsumed::kKnown);
  EXPECT_EQ(u.bytes, 0u);
}

TEST(PeerConsumption, CloseWithUnreadDataIsAResetNotACleanEnd) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 100);
  close(p.reader);
  p.reader = -1;
  char buf[16];
  // The reset comes before the end of stream: the caller never takes this for consumption.
  EXPECT_EQ(recv(p.writer, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

// SO_LINGER {1, 0} makes a TCP close send a reset; on a Unix socket the option is stored and
// ignored, so this is a plain close, and with data unread it leaves the same reset as above.
TEST(PeerConsumption, LingerZeroCloseOnAUnixSocketIsAPlainClose) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 100);
  const linger l{1, 0};
  ASSERT_EQ(setsockopt(p.reader, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
  close(p.reader);
  p.reader = -1;
  char buf[16];
  EXPECT_EQ(recv(p.writer, buf, sizeof buf, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, ECONNRESET);
}

TEST(PeerConsumption, HalfCloseIsNotAClose) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 100);  // unread, and the reader is still alive
  shutdown(p.reader, SHUT_WR);
  ASSERT_TRUE(reads_end_of_stream(p.writer));
  const auto u = wire::unix_unconsumed_at_end_of_stream(p.writer);
  ASSERT_EQ(u.status, wire::Unconsumed::kKnown);
  EXPECT_GE(u.bytes, 100u);
}

// The defect of issue 10 item 2: a peer that shuts both directions without reading ends the
// stream exactly like one that read everything and closed (POLLHUP, no error), but every byte
// is still in its queue and still counted.
TEST(PeerConsumption, ShutdownWithoutReadingIsNotConsumption) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 5000);
  ASSERT_EQ(shutdown(p.reader, SHUT_RDWR), 0);
  ASSERT_TRUE(reads_end_of_stream(p.writer));  // no reset: the reader is alive
  const auto u = wire::unix_unconsumed_at_end_of_stream(p.writer);
  ASSERT_EQ(u.status, wire::Unconsumed::kKnown);
  EXPECT_GE(u.bytes, 5000u);
}

TEST(PeerConsumption, ShutdownAfterReadingSomeCountsWhatIsLeft) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 4000);
  char buf[3000];
  ASSERT_EQ(recv(p.reader, buf, sizeof buf, 0), 3000);
  ASSERT_EQ(shutdown(p.reader, SHUT_RDWR), 0);
  ASSERT_TRUE(reads_end_of_stream(p.writer));
  const auto u = wire::unix_unconsumed_at_end_of_stream(p.writer);
  ASSERT_EQ(u.status, wire::Unconsumed::kKnown);
  EXPECT_GE(u.bytes, 1000u);
}

// The peer shut down first (end of stream, no error yet) and closes later with data unread:
// its queue is freed, zeroing the count, but the reset recorded before that says so.
TEST(PeerConsumption, ShutdownThenCloseWithUnreadDataIsNeverTakenForConsumption) {
  Pair p;
  ASSERT_GE(p.writer, 0);
  write_all(p.writer, 5000);
  ASSERT_EQ(shutdown(p.reader, SHUT_RDWR), 0);
  ASSERT_TRUE(reads_end_of_stream(p.writer));
  close(p.reader);
  p.reader = -1;
  EXPECT_EQ(wire::unix_unconsumed_at_end_of_stream(p.writer).status, wire::Unconsumed::kPeerGone);
}

}  // namespace
