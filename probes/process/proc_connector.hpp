// The kernel's process connector (NETLINK_CONNECTOR, CN_IDX_PROC): a non-blocking socket the
// agent's event loop watches, and the loss accounting that goes with it: every message read, of
// whatever kind, goes through the per-CPU sequence gap counter (seq_gaps.hpp), so the number of
// messages lost is exact rather than inferred from ENOBUFS.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <cellos/telemetry/unique_fd.hpp>
#include "proc_event.hpp"
#include "seq_gaps.hpp"

namespace cellos::telemetry::process {

// One datagram from the connector as an event (of whatever kind); nullopt when it is not a
// whole proc event (an acknowledgement, another connector's message, cut short).
std::optional<ProcEvent> decode_proc_event(const char* data, size_t len);

class ProcConnector {
 public:
  // Opens the socket, sizes its receive queue to receive_buffer_bytes (see README: buffer
  // sizing) and subscribes (PROC_CN_MCAST_LISTEN), checking the kernel's acknowledgement.
  // Throws std::system_error saying which step failed and why.
  explicit ProcConnector(size_t receive_buffer_bytes);
  ~ProcConnector();  // unsubscribes, so the kernel stops generating events nobody wants
  ProcConnector(const ProcConnector&) = delete;
  ProcConnector& operator=(const ProcConnector&) = delete;

  int fd() const { return fd_.get(); }
  // The queue limit the kernel applies (SO_RCVBUF as read back).
  size_t receive_buffer() const { return receive_buffer_; }

  struct Drain {
    size_t events = 0;        // messages handed to the handler (kOther included)
    bool overflowed = false;  // the kernel reported ENOBUFS: events were lost
    // Messages found missing (sequence gaps) since the previous drain: during this one, or while
    // subscribing. A loss shows here once the next message from the same CPU arrives, so it can
    // come a drain after the ENOBUFS that announced it.
    uint64_t lost = 0;
    bool emptied = false;  // the queue was read to the end
  };

  // Reads what is queued, without blocking, until the queue is empty or max_events were
  // handled (so one burst cannot hold the loop forever). Events read while subscribing come
  // first. before_batch(span of events) runs after each read, before the events are handled. Throws
  // std::system_error on an error other than loss.
  template <class Handler, class BeforeBatch>
  Drain drain(Handler&& handle, BeforeBatch&& before_batch, size_t max_events);
  template <class Handler>
  Drain drain(Handler&& handle, size_t max_events) {
    return drain(
        handle, [](std::span<const ProcEvent>) {}, max_events);
  }

  // A loss (ENOBUFS or a sequence gap) was seen since the last clear_loss_seen(): set as soon
  // as a batch shows it, before that batch's events are handled, so the handler can stop
  // trusting what events that may be missing would have told it (a rename, say).
  bool loss_seen() const { return loss_seen_; }
  void clear_loss_seen() { loss_seen_ = false; }

  // Has every CPU this thread may run on send a message now, so that the messages lost after
  // each CPU's last one are counted at the next drain rather than whenever that CPU next sends
  // something (on a quiet guest, much later). An operation the kernel does not know, sent from
  // each CPU in turn (the thread is moved there and back), which the kernel acknowledges from
  // that CPU with its next number. Not for CPUs outside the thread's affinity. Nothing is asked
  // when the queue holds fewer than four such messages a CPU: the answers would overflow it
  // themselves, and the loss they revealed would call for another resync and another ask, for
  // ever (seen with receive_buffer_kib = 1: a loss counted every 50 ms on an idle guest).
  // Returns how many CPUs were asked.
  size_t ask_every_cpu();

  // The gap counter: lost() is every message found missing since subscribing.
  const SeqGaps& gaps() const { return gaps_; }

  // Events the kernel dropped for this socket since the last call (SO_MEMINFO's drop counter),
  // or nullopt where the kernel cannot say.
  std::optional<uint64_t> take_dropped();

 private:
  static constexpr size_t kBatch = 64;       // datagrams per recvmmsg
  static constexpr size_t kSlotBytes = 256;  // a proc event datagram is under 100 bytes

  // One recvmmsg; decoded events appended to batch_. Returns datagrams read, or -errno.
  int receive_batch();
  void subscribe();
  bool send_op(uint32_t op);

  UniqueFd fd_;
  size_t receive_buffer_ = 0;
  uint32_t seq_ = 0;
  uint32_t drops_seen_ = 0;  // the kernel's drop counter when last taken
  SeqGaps gaps_;
  uint64_t lost_drained_ = 0;  // gaps_.lost() as the last drain reported it
  uint64_t lost_flagged_ = 0;  // gaps_.lost() when loss_seen_ was last brought up to date
  bool loss_seen_ = false;
  std::vector<ProcEvent> pending_;  // read while waiting for the subscription's ack
  std::vector<ProcEvent> batch_;
  std::array<std::array<uint64_t, kSlotBytes / 8>, kBatch> slots_{};
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovs_{};
};

template <class Handler, class BeforeBatch>
ProcConnector::Drain ProcConnector::drain(Handler&& handle, BeforeBatch&& before_batch,
                                          size_t max_events) {
  Drain d;
  if (!pending_.empty()) {
    before_batch(std::span<const ProcEvent>(pending_));
    for (const ProcEvent& e : pending_) handle(e);
    d.events += pending_.size();
    pending_.clear();
  }
  while (d.events < max_events) {
    batch_.clear();
    const int n = receive_batch();
    if (n == -ENOBUFS) {
      d.overflowed = true;
      loss_seen_ = true;
      continue;
    }
    if (gaps_.lost() != lost_flagged_) {
      lost_flagged_ = gaps_.lost();
      loss_seen_ = true;
    }
    if (n < 0) {  // -EAGAIN: receive_batch turns other errors into exceptions
      d.emptied = true;
      break;
    }
    if (!batch_.empty()) before_batch(std::span<const ProcEvent>(batch_));
    for (const ProcEvent& e : batch_) handle(e);
    d.events += batch_.size();
    if (static_cast<size_t>(n) < kBatch) {  // a short batch means the queue ran dry
      d.emptied = true;
      break;
    }
  }
  d.lost = gaps_.lost() - lost_drained_;
  lost_drained_ = gaps_.lost();
  return d;
}

}  // namespace cellos::telemetry::process
