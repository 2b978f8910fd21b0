#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bus.hpp"
#include "config.hpp"
#include "event_loop.hpp"
#include "plugin_library.hpp"

namespace cellos::telemetry {

// Where an instance is in its life. An instance turned off by the config ([agent] disable,
// `enabled = false`) never becomes an Instance at all; these are the states of the ones that run.
enum class InstanceState {
  loaded,   // plugin loaded and options validated; no plugin object yet
  created,  // the plugin object exists (--check-config goes no further)
  running,  // started
  stopped,  // stopped in order at shutdown: its fds are forgotten, what it emits is ignored
  failed,   // taken out at runtime for misbehaving (a call failed or overran the time limit, or
            // it broke the event contract): reported once on stderr, never called again
};

// One [[probes.NAME]] or [[sinks.NAME]] instance: its plugin object, what it registered on the
// event loop, and the containment of its calls. A sink instance is also its sink's endpoint on
// the bus. The host functions it hands its plugin are in host_callbacks.hpp.
class Instance final : public SinkEndpoint {
 public:
  Instance(InstanceConfig config, std::shared_ptr<PluginLibrary> library, OptionValues options,
           EventLoop& loop, Bus& bus, uint64_t call_time_limit_ms);
  // Destroys the plugin object before `library` can be released.
  ~Instance() override;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Creates the plugin object; then start() starts it. Each throws ConfigError naming the
  // instance and where it was configured.
  void create();
  void start();
  // A probe's orderly stop at shutdown: forgets its fds and timer, calls stop, then ignores it.
  void stop_probe();
  // A sink's stop at exit, after the flush.
  void stop_sink();

  // Calls into the plugin with its error buffer. A call that fails, or returns after more than
  // the call time limit, fails the instance; then false.
  // A template, not std::function: the hot path (emit, consume) allocates nothing per call, and
  // only the error string's first byte is cleared (a plugin reporting an error writes it).
  template <typename Fn>
  bool call(const char* what, Fn&& fn) {
    char err[512];
    err[0] = '\0';
    const uint64_t start = monotonic_ns();
    const int rc = fn(err, sizeof err);
    return call_returned(what, rc, err, start);
  }
  // Takes the instance out for misbehaving: forgets its fds and timer, retires its sink from the
  // bus (discarding its queue), and says so once on stderr.
  void fail(const std::string& what, const std::string& message);
  void forget_fds();

  // Whether its emits and loop callbacks are still taken: neither stopped nor failed (a plugin
  // may emit from inside its create).
  bool active() const { return state != InstanceState::stopped && state != InstanceState::failed; }
  const ct_plugin& plugin() const { return library->descriptor(); }
  const char* kind_word() const { return kind == CT_KIND_SINK ? "sink" : "probe"; }

  // SinkEndpoint: offers the events to the plugin's consume.
  std::optional<size_t> consume(std::span<const ct_event* const> events) override;

  const ct_kind kind;  // from the config section it came from, [[probes.*]] or [[sinks.*]]
  const InstanceConfig config;
  const std::string name;                        // probes.process[0]
  const std::shared_ptr<PluginLibrary> library;  // outlives `object`: see ~Instance
  const std::vector<std::string_view> emits;     // a probe's declared names (in the descriptor)
  const OptionValues options;
  EventLoop& loop;
  Bus& bus;
  const uint64_t call_time_limit_ms;
  InstanceState state = InstanceState::loaded;
  std::optional<Bus::SinkId> sink_id;      // sinks, once added to the bus
  bool flushed = false;                    // sinks: flush said done at shutdown
  const ct_stream_info* stream = nullptr;  // handed to the plugin in ct_host (ABI 2.1)
  ct_host host{};
  void* object = nullptr;
  UniqueFd timer;
  std::vector<int> fds;
  // A probe's last emitted probe_source that was well-formed and declared (host_emit).
  std::string last_source;

 private:
  bool call_returned(const char* what, int rc, const char* err, uint64_t start_ns);
};

}  // namespace cellos::telemetry
