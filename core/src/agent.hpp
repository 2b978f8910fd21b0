#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bus.hpp"
#include "config.hpp"
#include "event_loop.hpp"
#include "generation_watch.hpp"
#include "instance.hpp"
#include "stream_identity.hpp"

namespace cellos::telemetry {

// Runs one configuration through its life: load its plugins, create the instances, start them,
// run the event loop, and stop everything in order. Routing, queues and heartbeats are the
// bus's (bus.hpp); each instance's plugin object and call containment are in instance.hpp; the
// host functions plugins call are in host_callbacks.hpp; --check-config's text is in
// check_config_report.hpp.
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
  // What would run, for --check-config. After load() (and create(), to check that too).
  std::string describe() const;
  // Creates every instance's plugin object, sinks first. Throws ConfigError.
  void create();
  // Starts sinks, then probes (a probe may emit from start). After create(). Throws ConfigError.
  void start();
  // Runs until SIGTERM/SIGINT (already blocked by the caller); then stops
  // probes, gives sinks until the shutdown deadline to flush, and destroys everything.
  void run();

  // Development only: skip the plugin ownership and permission checks.
  void allow_untrusted_plugins() { allow_untrusted_ = true; }
  // Tests only: read VM generation announcements (uevent datagrams) from a Unix datagram
  // socket bound at path instead of the kernel's (generation_watch.hpp).
  void use_uevent_socket_for_test(std::string path) { uevent_socket_for_test_ = std::move(path); }

  // Who is speaking (stream_identity.hpp); the config digest is set by load().
  const StreamIdentity& stream() const { return stream_; }

 private:
  void stop_probes();
  bool flush_sinks();
  void stop_sinks();
  void watch_log();
  void watch_generation();
  // The VM generation changed: a new stream, agent.restored to every sink, probes resync.
  void on_new_generation();

  AgentConfig config_;
  std::vector<std::string> plugin_dirs_;
  StreamIdentity stream_;  // before the instances, whose hosts point into it
  // Before the instances: they unwatch their fds and retire from the bus as they go.
  EventLoop loop_;
  Bus bus_;
  std::vector<std::unique_ptr<Instance>> probes_;
  std::vector<std::unique_ptr<Instance>> sinks_;
  UniqueFd signal_fd_;
  UniqueFd heartbeat_fd_;
  bool stop_requested_ = false;
  bool allow_untrusted_ = false;
  int log_watched_fd_ = -1;  // the console, watched for room while log lines wait
  std::string uevent_socket_for_test_;
  std::optional<GenerationWatch> generation_;
};

// Blocks SIGTERM and SIGINT (so signalfd receives them) and ignores SIGPIPE. Call before any
// thread exists.
void prepare_signals();

}  // namespace cellos::telemetry
