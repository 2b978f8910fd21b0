// The vsock sink: every event as one CBOR frame (design section 2) to the host over AF_VSOCK,
// or over a Unix socket standing in for it. Everything happens in the agent's event loop:
// non-blocking connect and writes, one timer for backoff, connect timeout and consumption polls.
//
// Delivery contract:
//  - While not connected it accepts nothing, so the core's queue keeps the events (and counts
//    what overflows: the core then offers telemetry.dropped before anything newer).
//  - Accepted events become frames in a bounded buffer and stay there until the host has
//    consumed them (SIOCOUTQ), not merely until they were written: bytes written into a socket
//    whose reader then dies are lost with it. After any lost connection everything held is
//    sent again from a frame boundary: a frame can arrive twice, never cut, never lost.
//    Nothing but the count releases a frame: not a write, not an end of stream (a host that
//    shut down without reading ends the stream just like one that read everything).
//  - The stop summary accounts for every frame taken: consumed, or counted in its
//    dropped_count (held, not known consumed, when the sink stops).
//  - Streams (stream_sequencer.hpp): every event frame carries seq, consecutive from 1 per
//    stream_id, the same on every sending; every connection starts with agent.hello (which
//    stream, from which seq), and agent.restored starts a new stream after a hello of its own.
//    So a host tells a frame lost in transport (a seq gap) from one dropped by the agent's queue
//    (announced by telemetry.dropped, which has a seq itself: dropped events never got one).
#include <sys/prctl.h>
#include <sys/socket.h>

#include <unistd.h>
#include <cellos/telemetry/clock.hpp>
#include <cellos/telemetry/sdk.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "frame_buffer.hpp"
#include "frame_encoder.hpp"
#include "hello_frame.hpp"
#include "peer_consumption.hpp"
#include "reconnect_backoff.hpp"
#include "socket_address.hpp"
#include "stream_sequencer.hpp"

namespace {

namespace ctt = cellos::telemetry;
namespace wire = cellos::telemetry::wire;

constexpr uint64_t kNsPerMs = 1000000;
// Nothing on the socket says when the host has read what was written (EPOLLOUT only means
// "below a quarter of the send buffer"), so while frames wait for that the sink asks the
// kernel: often while the core is held back by a full buffer, calmly otherwise (so frames the
// host already read are not sent twice after a loss, and shutdown is not kept waiting). An
// idle sink with nothing held has no timer running.
constexpr uint64_t kBlockedPollNs = 1 * kNsPerMs;
constexpr uint64_t kSettlePollNs = 10 * kNsPerMs;

uint64_t seed() {
  return ctt::monotonic_ns() ^ (static_cast<uint64_t>(getpid()) << 40);
}

std::string plural(size_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

wire::HelloIdentity identity(const ctt::Host& host) {
  wire::HelloIdentity who;
  if (const ct_stream_info* s = host.stream()) {
    who.boot_id = s->boot_id ? s->boot_id : "";
    who.agent_version = s->agent_version ? s->agent_version : "";
    who.config_digest = s->config_digest ? s->config_digest : "";
  }
  who.pid = static_cast<uint32_t>(getpid());
  char comm[16] = "";
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  who.comm = comm;
  return who;
}

uint64_t first_stream_id(const ctt::Host& host) {
  const ct_stream_info* s = host.stream();
  return s ? s->stream_id : 0;
}

class VsockSink final : public ctt::Sink {
 public:
  VsockSink(ctt::Host host, const ctt::Options& opts)
      : host_(host),
        address_(wire::parse_connect_address(opts.get_string("address"))),
        connect_timeout_ms_(static_cast<uint64_t>(opts.get_int("connect_timeout_ms"))),
        buffer_(static_cast<size_t>(opts.get_int("buffer_bytes"))),
        backoff_(static_cast<uint64_t>(opts.get_int("reconnect_min_ms")),
                 static_cast<uint64_t>(opts.get_int("reconnect_max_ms")), seed()),
        who_(identity(host_)),
        sequencer_(first_stream_id(host_)) {
    if (opts.get_int("reconnect_max_ms") < opts.get_int("reconnect_min_ms")) {
      throw std::invalid_argument("reconnect_max_ms must not be below reconnect_min_ms");
    }
  }

  ~VsockSink() override { close_socket(); }

  void start() override { connect_now(); }

  size_t consume(ctt::Events events) override {
    if (state_ != State::kConnected) {
      want_wake_ = true;
      return 0;
    }
    // What the host consumed is asked of the kernel (two syscalls) when the buffer holds an
    // eighth of its capacity, when it has no room (room_for_frame) and on the poll timer, not on
    // every batch: small batches can come faster than the host reads them, and each ask would
    // release next to nothing. Not only once it is half full either: a host that keeps up has
    // consumed the previous burst by the next one, and a buffer emptied then encodes the next
    // burst where the last one was, in memory still in the cache, not further on (at 1,000-event
    // bursts, 5-10% more events per CPU-second, bench/throughput; at least 32 KiB of frames,
    // some 260, between two asks). A lost connection then sends again at most what a poll
    // period or half the buffer holds, which it may do anyway.
    if (buffer_.bytes() >= buffer_.capacity() / 8) release_consumed();
    size_t taken = 0;
    for (; taken < events.size(); ++taken) {
      // A new stream's hello goes first; taken only with the event, so a refusal in between
      // offers agent.restored again, and the hello is not repeated (the stream has begun).
      const uint64_t restored =
          events[taken].n_extras == 0 ? 0 : ctt::restored_stream_id(events[taken]);
      if (restored != 0 && restored != sequencer_.stream_id()) {
        const std::span<uint8_t> room = room_for_frame();
        if (room.empty()) break;
        buffer_.commit(wire::encode_hello(who_, {restored, 1}, ctt::monotonic_ns(), room));
        sequencer_.committed_hello(restored);
        ++frames_encoded_;
        ++hellos_in_band_;
      }
      const std::span<uint8_t> room = room_for_frame();
      if (room.empty()) break;
      const size_t n = wire::encode_frame(events[taken], sequencer_.next_seq(), room);
      if (n == 0) {
        note_oversized(events[taken]);
        continue;
      }
      buffer_.commit(n);
      sequencer_.committed_event();
      ++frames_encoded_;
    }
    if (state_ == State::kConnected) write_pending();
    if (taken < events.size()) want_wake_ = true;
    update_poll();
    return taken;
  }

  void on_fd(int fd, uint32_t events) override {
    if (fd != fd_) return;
    if (state_ == State::kConnecting) {
      const int err = socket_error();
      if (err == 0 && (events & CT_FD_WRITE) != 0) {
        on_connected();
      } else {
        attempt_failed(err != 0 ? err : ECONNREFUSED);
      }
      return;
    }
    if (state_ != State::kConnected) return;
    if ((events & CT_FD_ERROR) != 0) {
      const int err = socket_error();
      lose(err != 0 ? std::strerror(err) : "socket error");
      return;
    }
    if ((events & CT_FD_READ) != 0 && !drain_input()) return;
    if ((events & CT_FD_HANGUP) != 0) {
      lose("the host hung up");
      return;
    }
    if ((events & CT_FD_WRITE) != 0 && !write_pending()) return;
    if (want_wake_ || half_full()) release_consumed();
    maybe_wake();
  }

  void on_timer() override {
    switch (state_) {
      case State::kWaiting:
        connect_now();
        break;
      case State::kConnecting:
        attempt_failed(ETIMEDOUT);
        break;
      case State::kConnected:
        if (write_pending()) {
          release_consumed();
          maybe_wake();
        }
        break;
      case State::kStopped:
        break;
    }
  }

  bool flush() override {
    if (state_ == State::kConnected && write_pending()) {
      release_consumed();
      maybe_wake();
    }
    return buffer_.empty();
  }

  void stop() override {
    if (state_ == State::kStopped) return;
    set_timer(0, 0);
    std::string summary =
        "stopping: " + plural(frames_encoded_, "frame") +
        (hellos_in_band_ ? " (" + plural(hellos_in_band_, "new-stream hello") + " among them)"
                         : "") +
        " over " + plural(connections_, "connection") + ", " + plural(frames_resent_, "frame") +
        " sent again after lost connections";
    if (oversized_ > 0) summary += ", " + plural(oversized_, "oversized event") + " not sent";
    // The account of every frame taken: each was released because the host provably consumed
    // it, or is counted here as dropped (held, not known consumed, when the sink stops).
    summary += "; account: " + std::to_string(frames_encoded_) +
               " taken = " + std::to_string(frames_confirmed_) +
               (consumption_known_ ? " consumed by the host" : " written (consumption unknown)") +
               " + dropped_count " + std::to_string(buffer_.frames()) +
               " (not confirmed consumed at stop)";
    host_.log(CT_LOG_INFO, summary);
    if (!buffer_.empty()) {
      host_.warn(plural(buffer_.frames(), "frame") + " not confirmed consumed by " + address_.text +
                 " at shutdown");
    }
    close_socket();
    state_ = State::kStopped;
  }

 private:
  enum class State { kWaiting, kConnecting, kConnected, kStopped };

  void connect_now() {
    fd_ = socket(address_.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
      attempt_failed(errno);
      return;
    }
    if (connect(fd_, address_.get(), address_.length) == 0) {
      on_connected();
    } else if (errno == EINPROGRESS) {
      state_ = State::kConnecting;
      set_interest(CT_FD_WRITE);
      set_timer(connect_timeout_ms_ * kNsPerMs, 0);
    } else {
      attempt_failed(errno);  // ENOENT, ECONNREFUSED, EAGAIN (listener's backlog full), ...
    }
  }

  // Room for one frame in the buffer, making what can be made of the socket first: write, then
  // drop what the host has consumed meanwhile. Empty when there is none.
  std::span<uint8_t> room_for_frame() {
    std::span<uint8_t> room = buffer_.reserve();
    if (!room.empty()) return room;
    if (!write_pending()) return {};
    release_consumed();
    return buffer_.reserve();
  }

  void on_connected() {
    state_ = State::kConnected;
    ++connections_;
    preamble_size_ = preamble_sent_ = 0;
    hello_due_ = true;
    set_timer(0, 0);
    set_interest(CT_FD_READ);
    std::string message = "connected to " + address_.text;
    if (!buffer_.empty()) message += "; sending " + plural(buffer_.frames(), "held frame");
    host_.log(CT_LOG_INFO, message);
    unreachable_reported_ = false;
    if (write_pending()) maybe_wake();
  }

  // One failed attempt: reported once per outage, not per retry.
  void attempt_failed(int err) {
    close_socket();
    if (!unreachable_reported_) {
      host_.warn("cannot connect to " + address_.text + ": " + std::strerror(err) +
                 "; retrying with backoff while the agent queues events");
      unreachable_reported_ = true;
    }
    schedule_retry();
  }

  void lose(const std::string& why) {
    const size_t resend = buffer_.frames_sent();
    frames_resent_ += resend;
    host_.warn("lost the connection to " + address_.text + ": " + why + "; reconnecting (" +
               plural(resend, "frame") + " written but not confirmed consumed will be sent again)");
    unreachable_reported_ = true;  // the outage is reported; its retries are not
    close_socket();
    buffer_.rewind();
    schedule_retry();
  }

  void schedule_retry() {
    state_ = State::kWaiting;
    set_timer(backoff_.next_delay_ms() * kNsPerMs, 0);
  }

  // Writes what the buffer holds until done or the socket is full. False if the connection
  // was lost doing so.
  bool write_pending() {
    // The connection's hello, made when its first frame is there to follow it: it names that
    // frame's stream and seq (after a generation change, the new stream and not the old one
    // whose last frame was already taken), or is that frame itself when it is a new stream's
    // hello. A connection that has carried nothing has said nothing.
    if (hello_due_ && !buffer_.empty()) {
      hello_due_ = false;
      if (const auto at = sequencer_.connection_hello()) {
        preamble_size_ = wire::encode_hello(who_, *at, ctt::monotonic_ns(), preamble_);
      }
    }
    while (true) {
      const bool hello = preamble_sent_ < preamble_size_;
      const std::span<const uint8_t> data =
          hello ? std::span<const uint8_t>(preamble_).subspan(preamble_sent_,
                                                              preamble_size_ - preamble_sent_)
                : buffer_.unsent();
      if (data.empty()) break;
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0 && hello) {
        preamble_sent_ += static_cast<size_t>(n);
      } else if (n > 0) {
        buffer_.mark_sent(static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        set_interest(CT_FD_READ | CT_FD_WRITE);
        return true;
      } else {
        lose(n == 0 ? "send wrote nothing" : std::strerror(errno));
        return false;
      }
    }
    set_interest(CT_FD_READ);
    if (!consumption_known_) released(buffer_.release_sent());
    return true;
  }

  bool half_full() const { return buffer_.bytes() >= buffer_.capacity() / 2; }

  // Drops the frames the host has consumed from the buffer.
  void release_consumed() {
    if (state_ != State::kConnected || buffer_.sent() == 0) return;
    if (!consumption_known_) {
      released(buffer_.release_sent());
      return;
    }
    const wire::Unconsumed u = wire::unconsumed_bytes(fd_);
    switch (u.status) {
      case wire::Unconsumed::kKnown:
        release_up_to_unconsumed(u.bytes);
        break;
      case wire::Unconsumed::kUnsupported:
        consumption_known_ = false;
        host_.warn(std::string("the kernel cannot tell what the host consumed on ") +
                   address_.text + " (SIOCOUTQ: " + std::strerror(u.error) +
                   "); frames count as delivered once written, so a host-side restart can lose "
                   "up to buffer_bytes of them");
        released(buffer_.release_sent());
        break;
      case wire::Unconsumed::kPeerGone:
        break;  // the fd reports the loss; this count must not release anything
    }
  }

  // Of what was written to this connection, all but the last `unconsumed` bytes were read.
  void release_up_to_unconsumed(size_t unconsumed) {
    released(
        buffer_.release_consumed(buffer_.sent() > unconsumed ? buffer_.sent() - unconsumed : 0));
  }

  void released(size_t frames) {
    sequencer_.released(frames);
    frames_confirmed_ += frames;
    if (frames > 0) backoff_.reset();  // the host is really there and reading
  }

  // Resumes the core's delivery once the buffer has room again.
  void maybe_wake() {
    if (want_wake_ && state_ == State::kConnected && buffer_.has_room()) {
      want_wake_ = false;
      host_.wake();
    }
    update_poll();
  }

  // While connected, the timer polls for consumption as long as frames are held.
  void update_poll() {
    if (state_ != State::kConnected) return;
    uint64_t interval = 0;
    if (want_wake_ && !buffer_.has_room()) {
      interval = kBlockedPollNs;
    } else if (!buffer_.empty()) {
      interval = kSettlePollNs;
    }
    if (interval != poll_ns_) set_timer(interval, interval, interval);
  }

  // The one timer serves the state: backoff, connect timeout, or consumption polls.
  void set_timer(uint64_t first_ns, uint64_t interval_ns, uint64_t poll_ns = 0) {
    host_.arm_timer(first_ns, interval_ns);
    poll_ns_ = poll_ns;
  }

  // The host sends nothing the sink needs; reading tells end-of-stream from noise. False if
  // the connection turned out to be closed.
  bool drain_input() {
    char scratch[512];
    while (true) {
      const ssize_t n = recv(fd_, scratch, sizeof scratch, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n == 0) {
        // End of stream says nothing about what the host read: one that shut the connection
        // down without reading ends it the same way as one that read everything and closed.
        // Only what the count proves consumed is released; the rest goes again.
        if (consumption_known_ && address_.family() == AF_UNIX) {
          const wire::Unconsumed u = wire::unix_unconsumed_at_end_of_stream(fd_);
          if (u.status == wire::Unconsumed::kKnown) release_up_to_unconsumed(u.bytes);
        }
        lose("closed by the host");
        return false;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      lose(std::strerror(errno));
      return false;
    }
  }

  void note_oversized(const ct_event& e) {
    if (oversized_++ == 0) {
      host_.warn(std::string("an event from '") + (e.probe_source ? e.probe_source : "") +
                 "' does not fit the " + std::to_string(wire::kMaxBodyBytes) +
                 "-byte frame body and was not sent; further ones are counted and reported at "
                 "stop");
    }
  }

  int socket_error() const {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
  }

  void set_interest(uint32_t events) {
    if (events == interest_) return;
    host_.watch_fd(fd_, events);
    interest_ = events;
  }

  void close_socket() {
    if (fd_ < 0) return;
    if (interest_ != 0) host_.unwatch_fd(fd_);
    close(fd_);
    fd_ = -1;
    interest_ = 0;
  }

  ctt::Host host_;
  wire::SocketAddress address_;
  uint64_t connect_timeout_ms_;
  wire::FrameBuffer buffer_;
  wire::ReconnectBackoff backoff_;
  State state_ = State::kWaiting;
  int fd_ = -1;
  uint32_t interest_ = 0;
  bool want_wake_ = false;             // the core is holding events until wake()
  uint64_t poll_ns_ = 0;               // the timer's consumption poll period, 0: not polling
  bool unreachable_reported_ = false;  // this outage was already reported
  bool consumption_known_ = true;      // SIOCOUTQ works on this socket
  uint64_t frames_encoded_ = 0, frames_resent_ = 0, connections_ = 0, oversized_ = 0;
  // Frames released from the buffer: proven consumed by the host (or, where SIOCOUTQ fails,
  // written). frames_encoded_ = frames_confirmed_ + buffer_.frames() at every moment.
  uint64_t frames_confirmed_ = 0;
  uint64_t hellos_in_band_ = 0;  // new streams' hellos among frames_encoded_
  wire::HelloIdentity who_;
  wire::StreamSequencer sequencer_;  // in step with buffer_: committed and released alike
  // The current connection's agent.hello, written before anything the buffer holds. Its bytes
  // are the first of the connection, so what the host has not consumed (counted from the end)
  // never includes them once any frame's bytes were written after them.
  std::array<uint8_t, wire::kMaxFrameBytes> preamble_{};
  size_t preamble_size_ = 0, preamble_sent_ = 0;
  bool hello_due_ = false;  // connected, and the hello is not made yet
};

constexpr ct_option_spec kOptions[] = {
    ctt::string_option("address",
                       "where the host listens: vsock://CID:PORT, or unix:PATH for a Unix "
                       "socket standing in for it (tests, a host-side receiver)",
                       "vsock://2:9001"),
    ctt::int_option("reconnect_min_ms", "first wait before reconnecting; doubles per failure", 50,
                    1, 60000),
    ctt::int_option("reconnect_max_ms", "longest wait between connection attempts (jittered)", 5000,
                    1, 600000),
    ctt::int_option("connect_timeout_ms", "give up on a connection attempt after this long", 2000,
                    1, 600000),
    ctt::int_option("buffer_bytes",
                    "frames written but not yet consumed by the host are kept (for resending "
                    "after a lost connection) up to this many bytes; uses twice this in memory",
                    262144, 16384, 67108864),
};

}  // namespace

CELLOS_TELEMETRY_SINK(VsockSink, "vsock", "0.1.0",
                      "CBOR frames to the host over vsock (or a Unix socket), resent whole "
                      "after lost connections",
                      kOptions)
