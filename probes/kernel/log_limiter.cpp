#include "log_limiter.hpp"

namespace cellos::telemetry::kernel {

bool LogLimiter::admit(uint64_t now_ns) {
  if (!started_ || now_ns - window_start_ >= window_ns_) {
    started_ = true;
    window_start_ = now_ns;
    used_ = 0;
  }
  if (used_ < burst_) {
    ++used_;
    return true;
  }
  ++suppressed_;
  return false;
}

uint64_t LogLimiter::take_suppressed() {
  const uint64_t n = suppressed_;
  suppressed_ = 0;
  return n;
}

std::optional<uint64_t> LogLimiter::report_due() const {
  if (suppressed_ == 0) return std::nullopt;
  return window_start_ + window_ns_;
}

void LogLimiter::start_report_window(uint64_t now_ns) {
  window_start_ = now_ns;
  used_ = 1;
  started_ = true;
}

}  // namespace cellos::telemetry::kernel
