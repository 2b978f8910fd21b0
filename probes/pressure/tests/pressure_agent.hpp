// The real agent with the pressure probe and the capturing sink, for the end-to-end tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

namespace cellos::telemetry::pressure::testing {

namespace t = cellos::telemetry::testing;

class Agent {
 public:
  // probe_options: TOML lines for [[probes.pressure]]. prefix: a command the agent runs under
  // (e.g. setpriv).
  explicit Agent(const std::string& probe_options, std::vector<std::string> prefix = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  std::vector<t::Captured> events() const { return t::read_captured(capture_); }
  // The captured events with this source, observed at or after since_ns.
  std::vector<t::Captured> events(const std::string& source, uint64_t since_ns = 0) const;
  std::string err() const { return child_->err(); }
  bool running() const { return child_->running(); }
  // Waits for the agent to exit by itself: its exit code, or -1 after the timeout.
  int wait_exit();

 private:
  t::TempDir dir_;
  std::string capture_;
  std::unique_ptr<t::ChildProcess> child_;
};

// A child that keeps a CPU busy until deadline_ns (CLOCK_MONOTONIC), pinned to `cpu`. Reap it
// with t::wait_pid.
// The window to test triggers with: 1 s where the kernel lets this process choose any window,
// else 2 s, the unprivileged step (psi_trigger.hpp).
uint64_t test_window_us();

pid_t spawn_spinner(int cpu, uint64_t deadline_ns);

}  // namespace cellos::telemetry::pressure::testing
