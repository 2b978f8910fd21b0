// One exec reader per CPU (context = "full"): a thread pinned to each CPU, woken only by the
// execs that happen on it, at real-time priority.
//
// Why: an exec's argv, executable and working directory can be read only while the process
// lives, and a /bin/true lives a few hundred microseconds after its exec. The kernel sends the
// exec event from the exec'ing task, on its CPU. A single reader thread is woken on whatever
// CPU it last ran on, which is usually idle: on a Firecracker guest an idle vCPU is halted, and
// the host takes about 125 us (median) to run it again, long enough for a few percent of
// /bin/true to be gone (raced). The thread pinned to the exec's own CPU is woken there instead,
// by a CPU that is running; at real-time priority it preempts the exec'ing process as its
// execve returns, and reads it before it runs on. Each thread's socket carries only the execs
// of its CPU (a classic BPF filter on proc_event.cpu), so an exec wakes one thread, not all.
//
// The threads share the probe's state (the tracker's early reads, the exit records) under one
// lock with the probe's own thread, which holds it for every callback of the host's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <cellos/telemetry/unique_fd.hpp>
#include "wakeup_priority.hpp"

namespace cellos::telemetry::process {

class ExecWorkers {
 public:
  using OnExec = std::function<void(uint32_t tgid, uint64_t when)>;

  // The CPUs to pin one thread each to: every online CPU, when this thread may run on all of
  // them; nullopt otherwise (an exec on a CPU the agent may not use would wake nobody).
  static std::optional<std::vector<int>> every_cpu();

  // Starts one thread per CPU of cpus, each calling on_exec (with lock held) for the execs of
  // its CPU, at most max_per_wake per wake-up, scheduled as priority asks. Throws
  // std::system_error naming the step that failed; nothing is left running then.
  ExecWorkers(const std::vector<int>& cpus, std::mutex& lock, OnExec on_exec,
              WakeupPriority priority, size_t max_per_wake);
  // Stops and joins every thread. The caller must not hold the lock.
  ~ExecWorkers();
  ExecWorkers(const ExecWorkers&) = delete;
  ExecWorkers& operator=(const ExecWorkers&) = delete;

  // The execs every thread's socket holds, handed to on_exec on the calling thread, which
  // holds the lock (the probe, before it handles a batch the execs may be in).
  void drain_all();
  // What the kernel refused of priority (WakeupPriorityScope::fallback), empty if nothing.
  const std::string& fallback() const { return fallback_; }
  size_t threads() const { return workers_.size(); }

 private:
  struct Worker;
  void run(Worker& w);
  void stop_and_join();

  std::mutex& lock_;
  OnExec on_exec_;
  WakeupPriority priority_;
  size_t max_per_wake_;
  UniqueFd stop_;  // an eventfd: readable once the threads are to stop
  std::vector<std::unique_ptr<Worker>> workers_;
  std::string fallback_;
};

}  // namespace cellos::telemetry::process
