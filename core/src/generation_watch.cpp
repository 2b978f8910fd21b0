#include "generation_watch.hpp"

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace cellos::telemetry {

namespace {

constexpr uint32_t kKernelUeventGroup = 1;  // group 2 is udev's re-broadcast, never read here

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool from_kernel(const sockaddr_storage& from, socklen_t len) {
  if (len < sizeof(sockaddr_nl) || from.ss_family != AF_NETLINK) return false;
  sockaddr_nl nl{};
  std::memcpy(&nl, &from, sizeof nl);
  return nl.nl_pid == 0;
}

}  // namespace

bool is_new_vmgenid_uevent(std::string_view d) {
  // The header "ACTION@DEVPATH", then NUL-separated KEY=VALUE variables.
  const size_t end = d.find('\0');
  if (end == std::string_view::npos || d.substr(0, end).rfind("change@", 0) != 0) return false;
  for (size_t at = end + 1; at < d.size();) {
    size_t next = d.find('\0', at);
    if (next == std::string_view::npos) next = d.size();
    if (d.substr(at, next - at) == "NEW_VMGENID=1") return true;
    at = next + 1;
  }
  return false;
}

GenerationWatch GenerationWatch::kernel() {
  UniqueFd fd(
      socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT));
  if (!fd) fail("socket(NETLINK_KOBJECT_UEVENT)");
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = kKernelUeventGroup;
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("bind(NETLINK_KOBJECT_UEVENT)");
  }
  return GenerationWatch(std::move(fd), true);
}

GenerationWatch GenerationWatch::unix_socket_for_test(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    fail("uevent test socket");
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) fail("socket(AF_UNIX)");
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    fail("bind(uevent test socket)");
  }
  return GenerationWatch(std::move(fd), false);
}

bool GenerationWatch::read_announcements() {
  bool announced = false;
  // Uevents are small (the kernel caps their environment at 2 KiB); a longer one is cut
  // (MSG_TRUNC) and not believed.
  std::array<char, 8192> buf;
  while (true) {
    sockaddr_storage from{};
    iovec iov{buf.data(), buf.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = recvmsg(fd_.get(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: all read. ENOBUFS: the queue overflowed and uevents were lost; one of them may
      // have been the announcement, which nothing can tell now, so none is assumed.
      if (errno == ENOBUFS) continue;
      return announced;
    }
    if ((msg.msg_flags & MSG_TRUNC) != 0) continue;
    if (from_kernel_only_ && !from_kernel(from, msg.msg_namelen)) continue;
    if (is_new_vmgenid_uevent(std::string_view(buf.data(), static_cast<size_t>(n)))) {
      announced = true;
    }
  }
}

}  // namespace cellos::telemetry
