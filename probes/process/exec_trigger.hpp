// A second socket on the process connector that the kernel lets only exec events through
// (a classic BPF socket filter), so the probe learns of an exec at once while the main
// socket's queue is read in coalesced batches (context = "full": argv must be read before a
// short-lived process exits). It is a trigger, not a record: it keeps no loss accounting, and
// an exec it misses is still handled, later, from the main socket.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>

#include <cellos/telemetry/unique_fd.hpp>
#include "proc_event.hpp"

namespace cellos::telemetry::process {

class ExecTrigger {
 public:
  // Joins the connector's group with the filter attached before any event can queue. The main
  // socket's subscription (ProcConnector) is what makes the kernel send events at all. Throws
  // std::system_error saying which step failed. cpu >= 0: only the execs that happen on that
  // CPU (exec_workers.hpp); -1: every exec.
  explicit ExecTrigger(int cpu = -1);
  ExecTrigger(const ExecTrigger&) = delete;
  ExecTrigger& operator=(const ExecTrigger&) = delete;

  int fd() const { return fd_.get(); }

  // Calls on_exec(tgid, timestamp_ns) for each exec queued, without blocking; at most
  // max_events. Returns how many there were.
  template <class OnExec>
  size_t drain(OnExec&& on_exec, size_t max_events);

 private:
  static constexpr size_t kBatch = 16;
  static constexpr size_t kSlotBytes = 256;
  // Datagrams read by one recvmmsg into slots_ (0 when none were queued).
  size_t receive();
  // The exec event in slot i, if it is one.
  bool exec_at(size_t i, uint32_t& tgid, uint64_t& when) const;

  UniqueFd fd_;
  std::array<std::array<uint64_t, kSlotBytes / 8>, kBatch> slots_{};
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovs_{};
};

template <class OnExec>
size_t ExecTrigger::drain(OnExec&& on_exec, size_t max_events) {
  size_t seen = 0;
  while (seen < max_events) {
    const size_t n = receive();
    for (size_t i = 0; i < n; ++i) {
      uint32_t tgid = 0;
      uint64_t when = 0;
      if (exec_at(i, tgid, when)) on_exec(tgid, when);
    }
    seen += n;
    if (n < kBatch) break;
  }
  return seen;
}

}  // namespace cellos::telemetry::process
