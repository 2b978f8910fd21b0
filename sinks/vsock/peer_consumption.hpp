// How much of what this side wrote the peer has not yet consumed, where the kernel can say.
// Frames are kept until consumed so that a host-side listener dying with unread data in its
// socket does not lose them: they are sent again on the next connection.
#pragma once

#include <cstddef>

namespace cellos::telemetry::wire {

struct Unconsumed {
  enum Status {
    kKnown,        // `bytes` is an upper bound of what the peer has not consumed yet
    kUnsupported,  // this socket cannot tell (SIOCOUTQ failed with `error`)
    kPeerGone,     // the peer closed or reset: the count no longer means anything
  };
  Status status = kUnsupported;
  size_t bytes = 0;
  int error = 0;
};

// SIOCOUTQ on a connected stream socket. On AF_UNIX it is the memory still charged to this
// socket for data the reader has not consumed: an overestimate (buffer truesize), which only
// keeps frames longer than needed. On AF_VSOCK (virtio, Linux >= 6.10) it is the bytes not
// yet handed to the host device, a weaker promise (see README).
Unconsumed unconsumed_bytes(int fd);

// After read() on a connected AF_UNIX stream socket returned 0 (end of stream): true when the
// peer closed the connection having consumed everything this side wrote. A Unix-socket peer
// closing with unread data leaves a reset (ECONNRESET) on this end, set in the same step that
// marks the connection closed, and read() reports a pending reset before end-of-stream; so a
// clean end-of-stream from a fully closed peer (not one that merely shut down its sending
// side) means nothing written before the close was left unread. Not meaningful for AF_VSOCK.
bool unix_peer_closed_after_consuming_all(int fd);

}  // namespace cellos::telemetry::wire
