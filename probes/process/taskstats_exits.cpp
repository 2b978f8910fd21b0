#include "taskstats_exits.hpp"

#include <cellos/telemetry/first_line.hpp>

#include <sys/sysinfo.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <system_error>

namespace cellos::telemetry::process {
namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), "taskstats: " + what);
}

// Attributes of a message or of a nested attribute: (type, payload, payload length).
template <class F>
void for_each_attr(const char* data, size_t len, F&& visit) {
  while (len >= NLA_HDRLEN) {
    nlattr a;
    std::memcpy(&a, data, sizeof a);
    if (a.nla_len < NLA_HDRLEN || a.nla_len > len) return;
    visit(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), data + NLA_HDRLEN,
          static_cast<size_t>(a.nla_len - NLA_HDRLEN));
    const size_t step = std::min<size_t>(NLA_ALIGN(a.nla_len), len);
    data += step;
    len -= step;
  }
}

// Every CPU a task can exit on: the kernel sends each record only to listeners of its CPU.
std::string possible_cpus() {
  std::string mask = cellos::telemetry::first_line("/sys/devices/system/cpu/possible");
  if (mask.empty()) mask = "0-" + std::to_string(std::max(1, get_nprocs_conf()) - 1);
  return mask;
}

// A field of the struct as the kernel laid it out (unaligned in the message: copied out).
template <class T>
T field_at(const char* stats, size_t offset) {
  T v;
  std::memcpy(&v, stats + offset, sizeof v);
  return v;
}

// The accounting of one struct taskstats of m bytes; false when it is too short to hold it.
bool read_accounting(const char* q, size_t m, ExitAccounting& a) {
  if (m < offsetof(taskstats, write_bytes) + sizeof(uint64_t)) return false;
  a.cpu_user_us = field_at<uint64_t>(q, offsetof(taskstats, ac_utime));
  a.cpu_system_us = field_at<uint64_t>(q, offsetof(taskstats, ac_stime));
  a.max_rss_kib = field_at<uint64_t>(q, offsetof(taskstats, hiwater_rss));
  a.read_bytes = field_at<uint64_t>(q, offsetof(taskstats, read_bytes));
  a.write_bytes = field_at<uint64_t>(q, offsetof(taskstats, write_bytes));
  a.elapsed_us = field_at<uint64_t>(q, offsetof(taskstats, ac_etime));
  return true;
}

}  // namespace

std::optional<TaskExit> decode_task_exit(const char* data, size_t len) {
  nlmsghdr nh;
  if (len < NLMSG_LENGTH(GENL_HDRLEN)) return std::nullopt;
  std::memcpy(&nh, data, sizeof nh);
  if (nh.nlmsg_len > len || nh.nlmsg_len < NLMSG_LENGTH(GENL_HDRLEN)) return std::nullopt;
  genlmsghdr gh;
  std::memcpy(&gh, data + NLMSG_HDRLEN, sizeof gh);
  if (gh.cmd != TASKSTATS_CMD_NEW) return std::nullopt;
  TaskExit e;
  bool has_pid = false, has_stats = false;
  const char* attrs = data + NLMSG_LENGTH(GENL_HDRLEN);
  for_each_attr(
      attrs, nh.nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN), [&](uint16_t type, const char* p, size_t n) {
        if (type == TASKSTATS_TYPE_AGGR_TGID) {
          for_each_attr(p, n, [&](uint16_t t, const char* q, size_t m) {
            if (t == TASKSTATS_TYPE_STATS) e.has_group = read_accounting(q, m, e.group);
          });
          return;
        }
        if (type != TASKSTATS_TYPE_AGGR_PID) return;
        for_each_attr(p, n, [&](uint16_t t, const char* q, size_t m) {
          if (t == TASKSTATS_TYPE_PID && m >= sizeof(uint32_t)) {
            std::memcpy(&e.pid, q, sizeof e.pid);
            has_pid = true;
          } else if (t == TASKSTATS_TYPE_STATS && m >= offsetof(taskstats, ac_comm) + TS_COMM_LEN) {
            // ac_comm sits in the part of the struct every version shares.
            const char* comm = q + offsetof(taskstats, ac_comm);
            e.comm.assign(comm, strnlen(comm, TS_COMM_LEN));
            has_stats = true;
            e.has_accounting = read_accounting(q, m, e.task);
            if (m >= offsetof(taskstats, ac_tgid) + sizeof(uint32_t)) {
              std::memcpy(&e.tgid, q + offsetof(taskstats, ac_tgid), sizeof e.tgid);
            }
          }
        });
      });
  if (!has_pid || !has_stats) return std::nullopt;
  return e;
}

namespace {

// Every held record stands for an exit event still queued in the connector, whose receive
// buffer (the same size as this one's) holds one per ~800 bytes; a quarter of that is room
// to spare, and never fewer than 1,024.
size_t record_capacity(size_t receive_buffer_bytes) {
  return std::max<size_t>(1024, receive_buffer_bytes / 256);
}

}  // namespace

TaskstatsExits::TaskstatsExits(size_t receive_buffer_bytes)
    : cpumask_(possible_cpus()), records_(record_capacity(receive_buffer_bytes)) {
  fd_.reset(socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_GENERIC));
  if (!fd_) fail(errno, "socket(AF_NETLINK, NETLINK_GENERIC)");
  const int half = static_cast<int>(std::min<size_t>(receive_buffer_bytes / 2, INT32_MAX));
  if (setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &half, sizeof half) != 0) {
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &half, sizeof half);
  }
  sockaddr_nl self{};
  self.nl_family = AF_NETLINK;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&self), sizeof self) != 0) fail(errno, "bind");

  char buf[4096];
  const char name[] = TASKSTATS_GENL_NAME;
  if (!request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, name, sizeof name)) {
    fail(errno, "asking for the family");
  }
  // The controller answers with the family, then the ack (or only an error).
  for (int i = 0; i < 2 && family_ == 0; ++i) {
    const int n = await_reply(buf, sizeof buf);
    if (n < 0) fail(-n, "resolving the TASKSTATS family (kernel without CONFIG_TASKSTATS?)");
    nlmsghdr nh;
    std::memcpy(&nh, buf, sizeof nh);
    if (nh.nlmsg_type != GENL_ID_CTRL) continue;
    for_each_attr(
        buf + NLMSG_LENGTH(GENL_HDRLEN),
        std::min<size_t>(nh.nlmsg_len, static_cast<size_t>(n)) - NLMSG_LENGTH(GENL_HDRLEN),
        [&](uint16_t type, const char* p, size_t len) {
          if (type == CTRL_ATTR_FAMILY_ID && len >= sizeof family_) {
            std::memcpy(&family_, p, sizeof family_);
          }
        });
  }
  if (family_ == 0) fail(ENOENT, "resolving the TASKSTATS family");
  // Drop the controller's ack so the registration's is the next error message.
  while (recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  if (!request(family_, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_REGISTER_CPUMASK, cpumask_.c_str(),
               cpumask_.size() + 1)) {
    fail(errno, "registering for exits");
  }
  const int r = await_reply(buf, sizeof buf);
  if (r < 0) fail(-r, "registering for exits on CPUs " + cpumask_);

  for (size_t i = 0; i < kBatch; ++i) {
    iovs_[i] = iovec{slots_[i].data(), kSlotBytes};
    headers_[i].msg_hdr = msghdr{};
    headers_[i].msg_hdr.msg_iov = &iovs_[i];
    headers_[i].msg_hdr.msg_iovlen = 1;
  }
}

TaskstatsExits::~TaskstatsExits() {
  if (fd_ && family_ != 0) {
    request(family_, TASKSTATS_CMD_GET, TASKSTATS_CMD_ATTR_DEREGISTER_CPUMASK, cpumask_.c_str(),
            cpumask_.size() + 1);
  }
}

bool TaskstatsExits::request(uint16_t type, uint8_t cmd, uint16_t attr, const void* data,
                             size_t len) {
  char req[NLMSG_LENGTH(GENL_HDRLEN) + NLA_HDRLEN + 64] = {};
  if (len > 64) return false;
  nlmsghdr nh{};
  nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(GENL_HDRLEN) + NLA_ALIGN(NLA_HDRLEN + len));
  nh.nlmsg_type = type;
  nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  genlmsghdr gh{};
  gh.cmd = cmd;
  gh.version = TASKSTATS_GENL_VERSION;
  nlattr na{};
  na.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  na.nla_type = attr;
  std::memcpy(req, &nh, sizeof nh);
  std::memcpy(req + NLMSG_HDRLEN, &gh, sizeof gh);
  std::memcpy(req + NLMSG_LENGTH(GENL_HDRLEN), &na, sizeof na);
  std::memcpy(req + NLMSG_LENGTH(GENL_HDRLEN) + NLA_HDRLEN, data, len);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = sendto(fd_.get(), req, nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof kernel);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(nh.nlmsg_len);
}

// The kernel handles a request inside sendto, so its answer is already queued: read without
// waiting. An exit record may come first and is skipped. Bytes read, or -errno.
int TaskstatsExits::await_reply(char* buf, size_t size) {
  for (int i = 0; i < 256; ++i) {
    const ssize_t n = recv(fd_.get(), buf, size, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) continue;
      return -errno;
    }
    if (static_cast<size_t>(n) < sizeof(nlmsghdr)) continue;
    nlmsghdr nh;
    std::memcpy(&nh, buf, sizeof nh);
    if (nh.nlmsg_type == NLMSG_ERROR) {
      nlmsgerr e;
      std::memcpy(&e, buf + NLMSG_HDRLEN, sizeof e);
      if (e.error != 0) return e.error;  // negative errno
      return static_cast<int>(n);
    }
    if (nh.nlmsg_type == GENL_ID_CTRL) return static_cast<int>(n);
  }
  return -EAGAIN;
}

void TaskstatsExits::refresh() {
  while (true) {
    for (auto& h : headers_) h.msg_hdr.msg_flags = 0;
    const int n = recvmmsg(fd_.get(), headers_.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        // Records were dropped: a later holder's record could now stand in for a lost one,
        // and a pid's missing record no longer proves it has not exited.
        clear();
        lost_ = true;
        ++losses_;
        continue;
      }
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) {
        ++truncated_;  // a kernel whose records outgrew the slot: counted, warned about
        continue;
      }
      const auto e =
          decode_task_exit(reinterpret_cast<const char*>(slots_[i].data()), headers_[i].msg_len);
      if (e) take(*e);
    }
    if (static_cast<size_t>(n) < kBatch) return;
  }
}

void TaskstatsExits::take(const TaskExit& e) {
  if (!e.has_accounting) {
    records_.add(e.pid, e.comm);
    return;
  }
  if (e.tgid != 0 && e.tgid != e.pid) {
    // A thread other than the leader: its cost belongs to its group, whose exit comes later.
    ExitAccounting& sum = threads_[e.tgid];
    sum.cpu_user_us += e.task.cpu_user_us;
    sum.cpu_system_us += e.task.cpu_system_us;
    sum.read_bytes += e.task.read_bytes;
    sum.write_bytes += e.task.write_bytes;
    sum.max_rss_kib = std::max(sum.max_rss_kib, e.task.max_rss_kib);
    records_.add(e.pid, e.comm);
    return;
  }
  // The leader: the process's lifetime is its own; peak RSS is the address space's, which its
  // threads share; CPU and I/O are the whole group's.
  ExitAccounting a = e.task;
  if (const auto it = threads_.find(e.pid); it != threads_.end()) {
    a.cpu_user_us += it->second.cpu_user_us;
    a.cpu_system_us += it->second.cpu_system_us;
    a.read_bytes += it->second.read_bytes;
    a.write_bytes += it->second.write_bytes;
    a.max_rss_kib = std::max(a.max_rss_kib, it->second.max_rss_kib);
    threads_.erase(it);
  }
  // Where the kernel fills the group aggregate's CPU time (its elapsed time then too), it also
  // counts threads that ended before the probe was listening: it wins.
  if (e.has_group && e.group.elapsed_us != 0) {
    a.cpu_user_us = e.group.cpu_user_us;
    a.cpu_system_us = e.group.cpu_system_us;
  }
  records_.add(e.pid, e.comm, &a);
}

std::optional<ExitAccounting> TaskstatsExits::accounting_at_exit(uint32_t pid) {
  if (!records_.holds(pid)) refresh();
  if (lost_) return std::nullopt;
  return records_.oldest_accounting(pid);
}

std::optional<std::string> TaskstatsExits::name_at_exit(uint32_t pid) {
  // A record held is the oldest for its pid whatever is queued behind it (records come in the
  // order the exits happened), so the queue is read only when none is held.
  if (!records_.holds(pid)) refresh();
  if (lost_) return std::nullopt;
  return records_.oldest(pid);
}

bool TaskstatsExits::exit_pending(uint32_t pid) {
  refresh();
  return lost_ || records_.holds(pid);
}

void TaskstatsExits::exit_handled(uint32_t pid) {
  // The record was queued before the exit event was, so if it is not held yet it is queued.
  if (!records_.holds(pid)) refresh();
  records_.release(pid);
}

}  // namespace cellos::telemetry::process
