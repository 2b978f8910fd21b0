// A PSI trigger (Documentation/accounting/psi.rst, "Monitoring for pressure thresholds"): writing
// "some STALL_US WINDOW_US" to /proc/pressure/cpu|memory|io asks the kernel to signal POLLPRI
// on that open file whenever tasks stalled on the resource for STALL_US or more within a moving
// window of WINDOW_US. The trigger lives as long as the file stays open, one trigger per open
// file, so the probe holds one fd per resource and watches it for CT_FD_PRIORITY on the agent's
// event loop: no thread, no polling. The same fd is read (pread) for the figures of each firing.
//
// The kernel's rules, checked by the probe at create so that a bad config fails with the option
// named rather than with the kernel's bare EINVAL at start: the window is 500 ms to 10 s, the
// threshold above 0 and at most the window. The kernel signals at most once per window; the
// probe also emits at most one event per window (OncePerWindow), measured on its own clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "proc_file.hpp"
#include "psi_record.hpp"

namespace cellos::telemetry::pressure {

inline constexpr uint64_t kMinWindowUs = 500'000;
inline constexpr uint64_t kMaxWindowUs = 10'000'000;

class PsiTrigger {
 public:
  // Opens path and registers the trigger. Throws std::system_error naming the path and the
  // trigger text when the kernel refuses; its code says why (ENOENT: no PSI on this kernel).
  PsiTrigger(const std::string& path, uint64_t threshold_us, uint64_t window_us);

  int fd() const { return file_.fd(); }
  const std::string& path() const { return file_.path(); }
  // The resource's current figures; nullopt if the text does not parse.
  std::optional<PsiRecord> read();

 private:
  ProcFile file_;
};

// Whether this process may register a trigger with any window. Without CAP_SYS_RESOURCE the
// kernel (Linux 6.4 and later) takes only windows that are whole multiples of 2 s, and refuses
// others with a bare EINVAL.
bool may_use_any_window();
inline constexpr uint64_t kUnprivilegedWindowStepUs = 2'000'000;

// At most one event per window: admit() is true for the first firing, then again only once a
// whole window has passed since the last admitted one. suppressed() counts the others.
class OncePerWindow {
 public:
  explicit OncePerWindow(uint64_t window_ns) : window_ns_(window_ns) {}
  bool admit(uint64_t now_ns);
  uint64_t suppressed() const { return suppressed_; }

 private:
  uint64_t window_ns_;
  std::optional<uint64_t> last_ns_;
  uint64_t suppressed_ = 0;
};

}  // namespace cellos::telemetry::pressure
