#include "exec_trigger.hpp"

#include <arpa/inet.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>

#include <cerrno>
#include <cstddef>
#include <iterator>
#include <optional>
#include <system_error>

#include "proc_connector.hpp"

namespace cellos::telemetry::process {
namespace {

[[noreturn]] void fail(int err, const char* what) {
  throw std::system_error(err, std::generic_category(), std::string("exec trigger: ") + what);
}

// Where proc_event.what lies in a connector datagram: after the netlink and connector headers.
constexpr uint32_t kWhatOffset = NLMSG_HDRLEN + sizeof(cn_msg) + offsetof(proc_event, what);
// And proc_event.cpu: the CPU the event was sent from, which is the exec'ing task's.
constexpr uint32_t kCpuOffset = NLMSG_HDRLEN + sizeof(cn_msg) + offsetof(proc_event, cpu);

}  // namespace

ExecTrigger::ExecTrigger(int cpu) {
  fd_.reset(socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR));
  if (!fd_) fail(errno, "socket(AF_NETLINK, NETLINK_CONNECTOR)");
  // Classic BPF loads words in network byte order, hence htonl of the host-order value.
  const uint32_t exec = htonl(proc_event::PROC_EVENT_EXEC);
  sock_filter any_cpu[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, exec, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // an exec: all of it
      BPF_STMT(BPF_RET | BPF_K, 0),            // anything else: dropped in the kernel
  };
  sock_filter one_cpu[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kWhatOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, exec, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kCpuOffset),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(static_cast<uint32_t>(cpu)), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),  // an exec on that CPU: all of it
      BPF_STMT(BPF_RET | BPF_K, 0),            // anything else: dropped in the kernel
  };
  sock_filter* code = cpu < 0 ? any_cpu : one_cpu;
  const size_t length = cpu < 0 ? std::size(any_cpu) : std::size(one_cpu);
  sock_fprog prog{static_cast<unsigned short>(length), code};
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    fail(errno, "attaching the exec-only filter (SO_ATTACH_FILTER)");
  }
  // A full queue here loses nothing the main socket does not carry: no ENOBUFS to handle.
  const int on = 1;
  setsockopt(fd_.get(), SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail(errno, "bind to the CN_IDX_PROC group");
  }
  for (size_t i = 0; i < kBatch; ++i) {
    iovs_[i] = iovec{slots_[i].data(), kSlotBytes};
    headers_[i].msg_hdr = msghdr{};
    headers_[i].msg_hdr.msg_iov = &iovs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
}

size_t ExecTrigger::receive() {
  int n;
  do {
    n = recvmmsg(fd_.get(), headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? 0 : static_cast<size_t>(n);  // EAGAIN, or an error the main socket reports
}

bool ExecTrigger::exec_at(size_t i, uint32_t& tgid, uint64_t& when) const {
  if (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) return false;
  const auto e =
      decode_proc_event(reinterpret_cast<const char*>(slots_[i].data()), headers_[i].msg_len);
  if (!e || e->kind != ProcEvent::Kind::kExec) return false;
  tgid = e->tgid;
  when = e->timestamp_ns;
  return true;
}

}  // namespace cellos::telemetry::process
