#include "psi_trigger.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cellos::telemetry::pressure {

namespace {

UniqueFd open_and_register(const std::string& path, const std::string& trigger) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "opening " + path);
  // With its NUL: the kernel overwrites the last byte written with one.
  if (::write(fd.get(), trigger.c_str(), trigger.size() + 1) < 0) {
    throw std::system_error(errno, std::generic_category(),
                            "writing trigger \"" + trigger + "\" to " + path);
  }
  return fd;
}

}  // namespace

PsiTrigger::PsiTrigger(const std::string& path, uint64_t threshold_us, uint64_t window_us)
    : file_(path, open_and_register(path, "some " + std::to_string(threshold_us) + " " +
                                              std::to_string(window_us))) {}

std::optional<PsiRecord> PsiTrigger::read() {
  return parse_psi(file_.read());
}

bool may_use_any_window() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
}

bool OncePerWindow::admit(uint64_t now_ns) {
  if (last_ns_ && now_ns - *last_ns_ < window_ns_) {
    ++suppressed_;
    return false;
  }
  last_ns_ = now_ns;
  return true;
}

}  // namespace cellos::telemetry::pressure
