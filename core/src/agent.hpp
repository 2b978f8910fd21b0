#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "event_loop.hpp"
#include "plugin_library.hpp"
#include "sink_queue.hpp"

namespace cellos::telemetry {

// Runs one configuration: loads its plugins, creates and starts their instances, routes events
// from probes to the sinks' queues, and stops everything in order.
//
// Error policy: anything that goes wrong before run() is a ConfigError (exit 78). Once running,
// a probe or sink whose call fails is disabled with one message on stderr; the rest keep going.
class Agent {
 public:
  Agent(AgentConfig config, std::vector<std::string> plugin_dirs);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Loads every enabled instance's plugin and validates its options. Throws ConfigError.
  void load();
  // What would run, for --check-config. After load().
  std::string describe() const;
  // Creates every instance (and, with start_them, starts sinks then probes). Throws ConfigError.
  void create(bool start_them);
  // Runs until SIGTERM/SIGINT (already blocked by the caller) or request_stop(); then stops
  // probes, gives sinks until the shutdown deadline to flush, and destroys everything.
  void run();
  void request_stop() { stop_requested_ = true; }

  // Development only: skip the plugin ownership and permission checks.
  void allow_untrusted_plugins() { allow_untrusted_ = true; }

  // Test and diagnostics hooks.
  uint64_t total_drops(size_t sink_index) const;

  struct Instance;  // one probe or sink instance; defined in agent.cpp

 private:
  void route(const ct_event& e);
  void pump_sinks();
  void pump(Instance& sink);
  void on_heartbeat();
  void stop_probes();
  bool flush_sinks();
  void watch_log();
  void disable(Instance& inst, const std::string& what, const std::string& message);
  bool call(Instance& inst, const char* what, const std::function<int(char* err, size_t size)>& fn);
  OwnedEvent self_event(const char* source) const;

  AgentConfig config_;
  std::vector<std::string> plugin_dirs_;
  std::vector<std::unique_ptr<Instance>> probes_;
  std::vector<std::unique_ptr<Instance>> sinks_;
  EventLoop loop_;
  UniqueFd signal_fd_;
  UniqueFd heartbeat_fd_;
  bool stop_requested_ = false;
  bool allow_untrusted_ = false;
  bool pump_pending_ = false;
  int log_watched_fd_ = -1;              // the console, watched for room while log lines wait
  static constexpr size_t kBatch = 256;  // events offered to a sink per consume call
  std::vector<EventView> pump_views_{kBatch};
  std::vector<ct_event> pump_batch_;
  std::string self_comm_;
  uint32_t self_pid_ = 0;
};

// Blocks SIGTERM and SIGINT (so signalfd receives them) and ignores SIGPIPE. Call before any
// thread exists.
void prepare_signals();

}  // namespace cellos::telemetry
