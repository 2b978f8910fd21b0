// The rate limit of kernel.log: at most `burst` events per window of `window_ns`. A record over
// the limit is not lost from the count: the next kernel.log carries `suppressed`, the number
// held back since the one before it. So that a burst followed by silence is not left unaccounted,
// the latest held-back record itself is reported when the window ends (the probe arms its timer
// for then), carrying the count of the others. Every record is thus emitted or counted.
#pragma once

#include <cstdint>
#include <optional>

namespace cellos::telemetry::kernel {

class LogLimiter {
 public:
  LogLimiter(uint64_t burst, uint64_t window_ns) : burst_(burst), window_ns_(window_ns) {}

  // Whether a record at now_ns may be emitted; if not, it is counted as suppressed.
  bool admit(uint64_t now_ns);
  // Records suppressed since the last one emitted; taking them resets the count.
  uint64_t take_suppressed();
  uint64_t suppressed() const { return suppressed_; }
  // When the current window ends, if records are suppressed (the time to report them).
  std::optional<uint64_t> report_due() const;
  // The window ending at report_due() is over: starts the next and spends one of its events on
  // the report.
  void start_report_window(uint64_t now_ns);

 private:
  uint64_t burst_, window_ns_;
  uint64_t window_start_ = 0, used_ = 0;
  bool started_ = false;
  uint64_t suppressed_ = 0;
};

}  // namespace cellos::telemetry::kernel
