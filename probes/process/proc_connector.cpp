#include "proc_connector.hpp"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sched.h>
#include <unistd.h>

#include <cellos/telemetry/clock.hpp>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>

namespace cellos::telemetry::process {
namespace {

#ifndef SO_MEMINFO
#define SO_MEMINFO 55  // Linux 4.12; older libc headers lack the name
#endif
constexpr size_t kMemInfoDrops = 8;  // SK_MEMINFO_DROPS in <linux/sock_diag.h>

// How many datagrams to look through for the subscription's acknowledgement. The kernel queues
// it before sendto returns, so only events that other CPUs slipped in ahead of it come first.
constexpr size_t kAckSearchLimit = 1024;

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "process connector: " + what);
}

struct Decoded {
  bool sequenced = false;  // a connector message whose (cpu, seq) could be read
  bool ok = false;         // ... and whole
  bool ack = false;
  uint32_t seq = 0, cpu = 0, ack_no = 0, ack_err = 0;
  ProcEvent event;
};

// The bytes of proc_event that precede its union: what and cpu.
constexpr size_t kEventHeader = offsetof(proc_event, timestamp_ns);

// One netlink datagram from the connector: nlmsghdr, cn_msg, proc_event. A truncated one (of a
// kind too large for the receive slot) still gives its sequence number, so it is not a "gap".
Decoded decode(const char* data, size_t len) {
  Decoded d;
  nlmsghdr nh;
  if (len < sizeof nh) return d;
  std::memcpy(&nh, data, sizeof nh);
  if (nh.nlmsg_len < NLMSG_LENGTH(sizeof(cn_msg))) return d;
  const size_t have = std::min<size_t>(nh.nlmsg_len, len);
  if (have < NLMSG_LENGTH(sizeof(cn_msg))) return d;
  const char* cn = data + NLMSG_HDRLEN;
  cn_msg msg;
  std::memcpy(&msg, cn, sizeof msg);
  if (msg.id.idx != CN_IDX_PROC || msg.id.val != CN_VAL_PROC) return d;
  const size_t payload = have - NLMSG_LENGTH(sizeof(cn_msg));
  proc_event ev;
  std::memset(&ev, 0, sizeof ev);
  std::memcpy(&ev, cn + sizeof(cn_msg), std::min<size_t>({payload, msg.len, sizeof ev}));
  if (payload < kEventHeader || msg.len < kEventHeader) return d;
  // Every message, acknowledgements included, takes the next number of the CPU it was sent on.
  d.sequenced = true;
  d.seq = msg.seq;
  d.cpu = ev.cpu;
  if (nh.nlmsg_len > len) return d;
  d.ok = true;
  ProcEvent& e = d.event;
  e.timestamp_ns = ev.timestamp_ns;
  e.cpu = d.cpu;
  e.seq = d.seq;
  switch (ev.what) {
    case proc_event::PROC_EVENT_NONE:
      d.ack = true;
      d.ack_no = msg.ack;
      d.ack_err = ev.event_data.ack.err;
      break;
    case proc_event::PROC_EVENT_FORK:
      e.kind = ProcEvent::Kind::kFork;
      e.pid = static_cast<uint32_t>(ev.event_data.fork.child_pid);
      e.tgid = static_cast<uint32_t>(ev.event_data.fork.child_tgid);
      e.parent_tgid = static_cast<uint32_t>(ev.event_data.fork.parent_tgid);
      break;
    case proc_event::PROC_EVENT_EXEC:
      e.kind = ProcEvent::Kind::kExec;
      e.pid = static_cast<uint32_t>(ev.event_data.exec.process_pid);
      e.tgid = static_cast<uint32_t>(ev.event_data.exec.process_tgid);
      break;
    case proc_event::PROC_EVENT_COMM:
      e.kind = ProcEvent::Kind::kComm;
      e.pid = static_cast<uint32_t>(ev.event_data.comm.process_pid);
      e.tgid = static_cast<uint32_t>(ev.event_data.comm.process_tgid);
      std::memcpy(e.comm, ev.event_data.comm.comm, sizeof e.comm);
      break;
    case proc_event::PROC_EVENT_UID:
    case proc_event::PROC_EVENT_GID:
      e.kind =
          ev.what == proc_event::PROC_EVENT_UID ? ProcEvent::Kind::kUid : ProcEvent::Kind::kGid;
      e.pid = static_cast<uint32_t>(ev.event_data.id.process_pid);
      e.tgid = static_cast<uint32_t>(ev.event_data.id.process_tgid);
      // A union: ruid/rgid and euid/egid share their places.
      e.real_id = ev.event_data.id.r.ruid;
      e.effective_id = ev.event_data.id.e.euid;
      break;
    case proc_event::PROC_EVENT_EXIT:
      e.kind = ProcEvent::Kind::kExit;
      e.pid = static_cast<uint32_t>(ev.event_data.exit.process_pid);
      e.tgid = static_cast<uint32_t>(ev.event_data.exit.process_tgid);
      e.exit_code = ev.event_data.exit.exit_code;
      break;
    default:
      break;
  }
  return d;
}

}  // namespace

std::optional<ProcEvent> decode_proc_event(const char* data, size_t len) {
  const Decoded d = decode(data, len);
  if (!d.ok || d.ack) return std::nullopt;
  return d.event;
}

std::string_view ProcEvent::comm_view() const {
  return {comm, strnlen(comm, sizeof comm)};
}

ProcConnector::ProcConnector(size_t receive_buffer_bytes) {
  fd_.reset(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR));
  if (!fd_) fail(errno, "socket(AF_NETLINK, NETLINK_CONNECTOR)");

  // Sized before joining the group, so no event is ever queued against the default limit. The
  // kernel doubles the value it is given (to cover its bookkeeping), hence the half.
  const int half = static_cast<int>(std::min<size_t>(receive_buffer_bytes / 2, INT32_MAX));
  // SO_RCVBUFFORCE (root) may exceed net.core.rmem_max; otherwise the kernel caps SO_RCVBUF.
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0)
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &half, sizeof half);
  int actual = 0;
  socklen_t alen = sizeof actual;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &actual, &alen) == 0) {
    receive_buffer_ = static_cast<size_t>(actual);
  }

  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail(errno, "bind to the CN_IDX_PROC group");
  }
  // Acks go to every listener; a seq of our own picks ours out.
  seq_ = static_cast<uint32_t>(getpid()) * 2654435761u ^ static_cast<uint32_t>(monotonic_ns());

  for (size_t i = 0; i < kBatch; ++i) {
    iovs_[i] = iovec{slots_[i].data(), kSlotBytes};
    headers_[i].msg_hdr = msghdr{};
    headers_[i].msg_hdr.msg_iov = &iovs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
  subscribe();
}

ProcConnector::~ProcConnector() {
  if (fd_) send_op(PROC_CN_MCAST_IGNORE);
}

bool ProcConnector::send_op(uint32_t op) {
  // nlmsghdr, cn_msg, then the operation: laid out by hand because cn_msg ends in a flexible
  // array, which C++ cannot embed in a struct.
  char req[NLMSG_LENGTH(sizeof(cn_msg) + sizeof op)] = {};
  nlmsghdr nh{};
  nh.nlmsg_len = sizeof req;
  nh.nlmsg_type = NLMSG_DONE;
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.seq = seq_;
  cn.len = sizeof op;
  std::memcpy(req, &nh, sizeof nh);
  std::memcpy(req + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(req + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_.get(), req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof req);
}

size_t ProcConnector::ask_every_cpu() {
  constexpr uint32_t kUnknownOp = 0;  // neither PROC_CN_MCAST_LISTEN nor _IGNORE: acked EINVAL
  // What one message takes of the receive buffer (its skb's truesize, about 768 bytes on x86-64),
  // rounded up.
  constexpr size_t kBytesPerMessage = 1024;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return 0;
  if (receive_buffer_ < 4 * kBytesPerMessage * static_cast<size_t>(CPU_COUNT(&allowed))) return 0;
  size_t asked = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
    // Handled in the sender's context: the acknowledgement leaves from this CPU.
    if (send_op(kUnknownOp)) ++asked;
  }
  sched_setaffinity(0, sizeof allowed, &allowed);
  return asked;
}

void ProcConnector::subscribe() {
  if (!send_op(PROC_CN_MCAST_LISTEN)) {
    // ECONNREFUSED: no connector in this network namespace (it exists only in the initial one).
    fail(errno, "subscribing (PROC_CN_MCAST_LISTEN)");
  }
  size_t looked = 0;
  while (looked < kAckSearchLimit) {
    const int n = recv(fd_.get(), slots_[0].data(), kSlotBytes, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;  // a kernel that does not acknowledge: take it as subscribed
      if (errno == ENOBUFS) continue;
      fail(errno, "reading the subscription's acknowledgement");
    }
    ++looked;
    const Decoded d =
        decode(reinterpret_cast<const char*>(slots_[0].data()), static_cast<size_t>(n));
    if (d.sequenced) gaps_.observe(d.cpu, d.seq);
    if (!d.ok) continue;
    pending_.push_back(d.event);  // acks too, as kOther: every message read is handed out
    if (d.ack && d.seq == seq_ && d.ack_no == 1) {
      if (d.ack_err != 0) fail(static_cast<int>(d.ack_err), "the kernel refused the subscription");
      break;
    }
  }
}

int ProcConnector::receive_batch() {
  for (auto& h : headers_) h.msg_hdr.msg_flags = 0;
  int n;
  do {
    n = recvmmsg(fd_.get(), headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -EAGAIN;
    if (errno == ENOBUFS) return -ENOBUFS;
    fail(errno, "recvmmsg");
  }
  for (int i = 0; i < n; ++i) {
    const Decoded d = decode(reinterpret_cast<const char*>(slots_[i].data()), headers_[i].msg_len);
    if (d.sequenced) gaps_.observe(d.cpu, d.seq);
    if (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) continue;  // not a proc event we know
    if (d.ok) batch_.push_back(d.event);  // acks and kinds not decoded as kOther
  }
  return n;
}

std::optional<uint64_t> ProcConnector::take_dropped() {
  uint32_t info[16] = {};
  socklen_t len = sizeof info;
  if (getsockopt(fd_.get(), SOL_SOCKET, SO_MEMINFO, info, &len) != 0 ||
      len < (kMemInfoDrops + 1) * sizeof(uint32_t)) {
    return std::nullopt;
  }
  // The kernel's counter is 32 bits and never reset; unsigned arithmetic copes with wrap.
  const uint32_t total = info[kMemInfoDrops];
  const uint32_t fresh = total - drops_seen_;
  drops_seen_ = total;
  return fresh;
}

}  // namespace cellos::telemetry::process
