#include "wakeup_priority.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

namespace cellos::telemetry::process {
namespace {

constexpr uint64_t kSliceNs = 100000;  // the shortest slice the kernel accepts

// struct sched_attr of <linux/sched/types.h>, which cannot be included beside glibc's <sched.h>
// (both define struct sched_param); the kernel takes any size from the first version's on.
struct SchedAttr {
  uint32_t size = sizeof(SchedAttr);
  uint32_t sched_policy = SCHED_OTHER;
  uint64_t sched_flags = 0;
  int32_t sched_nice = 0;
  uint32_t sched_priority = 0;
  uint64_t sched_runtime = 0;
  uint64_t sched_deadline = 0;
  uint64_t sched_period = 0;
};
constexpr uint64_t kFlagResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK

int set_attr(SchedAttr& attr) {
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0 ? 0 : errno;
}

std::string why(int err) {
  return std::system_category().message(err);
}

}  // namespace

WakeupPriorityScope::WakeupPriorityScope(WakeupPriority want) {
  saved_policy_ = sched_getscheduler(0);
  errno = 0;
  saved_nice_ = getpriority(PRIO_PROCESS, 0);
  if (want == WakeupPriority::kNormal || saved_policy_ != SCHED_OTHER) return;  // chosen already
  if (want == WakeupPriority::kRealtime) {
    sched_param p{};
    p.sched_priority = 1;
    if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p) == 0) {
      applied_ = WakeupPriority::kRealtime;
      return;
    }
    fallback_ = "SCHED_FIFO refused (" + why(errno) + ")";
  }
  SchedAttr attr;
  attr.sched_flags = kFlagResetOnFork;
  attr.sched_nice = saved_nice_;
  attr.sched_runtime = kSliceNs;  // read as the slice wanted (Linux 6.12+); ignored before
  if (const int err = set_attr(attr); err != 0) {
    fallback_ +=
        std::string(fallback_.empty() ? "" : "; ") + "a 100 us slice refused (" + why(err) + ")";
    return;
  }
  applied_ = WakeupPriority::kSlice;
}

WakeupPriorityScope::~WakeupPriorityScope() {
  if (applied_ == WakeupPriority::kNormal) return;
  SchedAttr attr;
  attr.sched_nice = saved_nice_;
  set_attr(attr);  // back to the default slice and policy; nothing to do if refused
}

}  // namespace cellos::telemetry::process
