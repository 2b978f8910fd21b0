#include "peer_consumption.hpp"

#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>

namespace cellos::telemetry::wire {

namespace {

// SIOCOUTQ: bytes written to fd that the peer has not consumed. The count is trusted only if
// none of `voids` is pending on fd once it has been taken (`watch` adds events poll must ask for).
Unconsumed outq_unless(int fd, short watch, short voids) {
  Unconsumed u;
  int pending = 0;
  if (ioctl(fd, SIOCOUTQ, &pending) != 0) {
    u.status = Unconsumed::kUnsupported;
    u.error = errno;
    return u;
  }
  pollfd p{fd, watch, 0};
  if (poll(&p, 1, 0) < 0 || (p.revents & voids) != 0) {
    u.status = Unconsumed::kPeerGone;
    return u;
  }
  u.status = Unconsumed::kKnown;
  u.bytes = pending > 0 ? static_cast<size_t>(pending) : 0;
  return u;
}

}  // namespace

// When a Unix-socket reader dies, the kernel first marks this end shut down (and reset if data
// was unread), and only then frees the dead reader's queue, which drops the count to 0 as if
// everything had been read. So look for the hang-up after reading the count: a count taken
// before it was still true; one taken after cannot be trusted and is not used.
Unconsumed unconsumed_bytes(int fd) {
  return outq_unless(fd, POLLRDHUP, POLLHUP | POLLERR | POLLRDHUP | POLLNVAL);
}

// Only a reset (set before the peer's queue is freed) makes the count untrustworthy here; the
// hang-up is expected, since the stream has ended. POLLERR reads the pending error without
// clearing it, unlike SO_ERROR.
Unconsumed unix_unconsumed_at_end_of_stream(int fd) {
  return outq_unless(fd, 0, POLLERR | POLLNVAL);
}

}  // namespace cellos::telemetry::wire
