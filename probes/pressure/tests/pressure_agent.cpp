#include "pressure_agent.hpp"

#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>

#include <chrono>

#include "psi_trigger.hpp"

namespace cellos::telemetry::pressure::testing {

using namespace std::chrono_literals;

Agent::Agent(const std::string& probe_options, std::vector<std::string> prefix)
    : capture_(dir_.file("events")) {
  const std::string config = dir_.write(
      "agent.toml", "[agent]\nheartbeat_interval_ms = 0\n[[probes.pressure]]\n" + probe_options +
                        "\n[[sinks.capture]]\npath = \"" + capture_ + "\"\n");
  for (auto& a : t::agent_argv(config, {"--plugin-dir", t::fixture_dir()})) prefix.push_back(a);
  child_ = std::make_unique<t::ChildProcess>(prefix, dir_);
}

Agent::~Agent() {
  if (child_->running()) {
    child_->signal(SIGTERM);
    child_->wait(30s);
  }
}

int Agent::wait_exit() {
  return child_->wait(30s).value_or(-1);
}

uint64_t test_window_us() {
  return may_use_any_window() ? 1'000'000 : kUnprivilegedWindowStepUs;
}

std::vector<t::Captured> Agent::events(const std::string& source, uint64_t since_ns) const {
  std::vector<t::Captured> out;
  for (auto& e : events()) {
    if (e.probe_source == source && e.guest_monotonic_ns >= since_ns) out.push_back(e);
  }
  return out;
}

pid_t spawn_spinner(int cpu, uint64_t deadline_ns) {
  const pid_t pid = fork();
  if (pid == 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
    volatile uint64_t sink = 0;
    while (monotonic_ns() < deadline_ns) sink = sink + 1;
    _exit(0);
  }
  return pid;
}

}  // namespace cellos::telemetry::pressure::testing
