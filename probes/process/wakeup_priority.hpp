// How quickly the agent's thread runs when an exec wakes it (context = "full").
//
// Why: a process's arguments, executable and working directory can be read from /proc only
// until it exits, and /bin/true exits a few hundred microseconds after its exec. Woken by the
// exec, the agent thread often lands on the CPU the new process runs on; as an ordinary task
// it waits there until the process has used its slice, which is usually all of its life
// (measured on a 2-vCPU guest: 6-7% of 1,000 back-to-back /bin/true gone before the read). A
// real-time priority lets it run at once (0.2-1.3% gone); a short EEVDF slice (Linux 6.12+, no
// privilege) lets it preempt sooner without changing its share of the CPU (0.1-0.8% here).
#pragma once

#include <string>

namespace cellos::telemetry::process {

enum class WakeupPriority {
  kNormal,    // leave the thread as the agent started it
  kSlice,     // SCHED_OTHER with a 100 us slice request
  kRealtime,  // SCHED_FIFO priority 1 (the lowest), reset on fork; CAP_SYS_NICE
};

// Applies `want` to the calling thread for as long as the object lives, falling back from
// real-time to the short slice, and from that to normal, when the kernel refuses; then
// fallback() says what was refused and why. Restores the thread's policy when destroyed.
class WakeupPriorityScope {
 public:
  explicit WakeupPriorityScope(WakeupPriority want);
  ~WakeupPriorityScope();
  WakeupPriorityScope(const WakeupPriorityScope&) = delete;
  WakeupPriorityScope& operator=(const WakeupPriorityScope&) = delete;

  WakeupPriority applied() const { return applied_; }
  const std::string& fallback() const { return fallback_; }

 private:
  WakeupPriority applied_ = WakeupPriority::kNormal;
  std::string fallback_;
  int saved_policy_ = 0;
  int saved_nice_ = 0;
};

}  // namespace cellos::telemetry::process
