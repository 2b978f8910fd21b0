// From /dev/kmsg records to kernel.* events: which records count, which event each gives, the
// OOM kill's two records joined into one event, the loss the sequence numbers reveal, and the
// rate limit of kernel.log. No fd and no clock of its own (the caller passes the time), so the
// unit tests drive it with recorded records and exact times.
#pragma once

#include <cellos/telemetry/sdk.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "kernel_messages.hpp"
#include "kmsg_record.hpp"
#include "log_limiter.hpp"

namespace cellos::telemetry::kernel {

// kernel.warning's and kernel.log's message is cut to this many bytes (kernel.log's line is at
// most 1,024 bytes before escaping; what follows the first few hundred is rarely the point).
inline constexpr size_t kMaxMessageBytes = 512;

struct KernelEventsConfig {
  uint32_t min_level = 3;  // kernel.log for records of this syslog level or more severe
  uint64_t log_burst = 10;
  uint64_t log_window_ns = 60'000'000'000ull;
  uint32_t self_pid = 0;  // kernel.lost is the agent's own news, under its pid and comm
  std::string self_comm;
};

class KernelEvents {
 public:
  using Emit = std::function<void(const EventBuilder&)>;
  KernelEvents(KernelEventsConfig config, Emit emit);

  // One record read from the device, handled at now_ns (guest_monotonic_ns).
  void handle(const KmsgRecord& record, uint64_t now_ns);
  // The device said EPIPE: records were overwritten before they were read. The next record's
  // sequence number tells how many; if no record was read before it, "at least one".
  void overwritten() { overwritten_ = true; }

  // When kernel.log records suppressed by the rate limit are due to be reported, if any are.
  std::optional<uint64_t> report_due() const { return limiter_.report_due(); }
  // Reports them: the latest held back, with `suppressed` counting the others.
  void report_suppressed(uint64_t now_ns);

 private:
  void account_sequence(uint64_t seq, uint64_t now_ns);
  void classify(const KmsgRecord& r, uint64_t now_ns);
  void oom_kill(const OomVictim& v, uint64_t seq, uint64_t now_ns);
  void log(uint32_t level, std::string_view message, uint32_t pid, uint64_t now_ns);
  void emit_log(uint32_t level, std::string_view message, uint32_t pid, uint64_t suppressed,
                uint64_t now_ns);

  KernelEventsConfig config_;
  Emit emit_;
  EventBuilder b_;
  std::optional<uint64_t> next_seq_;
  bool overwritten_ = false;
  std::optional<OomContext> oom_context_;  // the latest oom-kill: record, until its victim's
  LogLimiter limiter_;
  struct Held {
    uint32_t level = 0, pid = 0;
    std::string message;
  } held_;  // the latest record the limit held back
};

}  // namespace cellos::telemetry::kernel
