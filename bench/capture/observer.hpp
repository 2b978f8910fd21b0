// An observer under test (the agent, forkstat): a child process with its output in files, and
// the CPU time it has used.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace capture_bench {

struct CpuTime {
  uint64_t ticks = 0;      // utime + stime from /proc/PID/stat, in USER_HZ ticks (10 ms)
  uint64_t on_cpu_ns = 0;  // /proc/PID/task/*/schedstat: the same time, to the nanosecond
  // schedstat's third field: how many times a thread was put on a CPU, mostly wake-ups (an
  // observer that sleeps between events runs once per wake-up; preemptions add a few).
  uint64_t runs = 0;
  CpuTime operator-(const CpuTime& o) const {
    return {ticks - o.ticks, on_cpu_ns - o.on_cpu_ns, runs - o.runs};
  }
};

class Observer {
 public:
  Observer(const std::vector<std::string>& argv, const std::string& out, const std::string& err);
  ~Observer();  // SIGKILL (by pid) if still running
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  pid_t pid() const { return pid_; }
  CpuTime cpu() const;
  // Sends sig and waits for the exit; the exit code, 128 + signal, or -1 on timeout.
  int stop(int sig);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace capture_bench
