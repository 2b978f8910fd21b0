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

// After read() on a connected AF_UNIX stream socket returned 0 (end of stream): what the peer
// has not consumed, counted the same way as unconsumed_bytes() but also valid once the peer has
// shut the connection down. End of stream proves nothing about consumption: a peer that called
// shutdown(SHUT_RDWR) without reading looks exactly like one that read everything and closed
// (both directions shut, no error), yet its receive queue still holds every byte it did not
// read, charged to this socket, so the count still says what was left. The count is wrong
// only once a peer's socket is released with data unread (its queue is freed, dropping the
// count to 0); the kernel records a reset (ECONNRESET) on this end in the same step that shuts
// the connection and before it frees that queue. read() reports a pending reset before end of
// stream (and clears it), so when read() returned 0 no unread data had been freed yet; a reset
// seen after the count was taken (kPeerGone) means the count may be from a freed queue.
// Not meaningful for AF_VSOCK, whose count says nothing about the host's reader.
Unconsumed unix_unconsumed_at_end_of_stream(int fd);

}  // namespace cellos::telemetry::wire
