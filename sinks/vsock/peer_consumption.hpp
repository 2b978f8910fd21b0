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

}  // namespace cellos::telemetry::wire
