#include "instance.hpp"

#include "event_names.hpp"
#include "host_callbacks.hpp"
#include "log.hpp"

namespace cellos::telemetry {

Instance::Instance(InstanceConfig config_in, std::shared_ptr<PluginLibrary> library_in,
                   OptionValues options_in, EventLoop& loop_in, Bus& bus_in,
                   uint64_t call_time_limit_ms_in)
    : kind(config_in.kind),
      config(std::move(config_in)),
      name(config.display_name()),
      library(std::move(library_in)),
      emits(emits_of(library->descriptor().emits)),
      options(std::move(options_in)),
      loop(loop_in),
      bus(bus_in),
      call_time_limit_ms(call_time_limit_ms_in) {}

Instance::~Instance() {
  if (object) {
    forget_fds();
    plugin().destroy(object);
    object = nullptr;
  }
}

void Instance::create() {
  host = make_host(*this);
  char err[512] = "";
  if (plugin().create(&host, options.data(), options.size(), &object, err, sizeof err) != 0) {
    object = nullptr;
    throw ConfigError(config.where.str() + ": " + name + ": " + library->path() +
                      ": cannot create: " + err);
  }
  state = InstanceState::created;
}

void Instance::start() {
  char err[512] = "";
  if (plugin().start && plugin().start(object, err, sizeof err) != 0) {
    throw ConfigError(config.where.str() + ": " + name + ": cannot start: " + err);
  }
  state = InstanceState::running;
}

void Instance::stop_probe() {
  if (state == InstanceState::failed) return;
  forget_fds();
  call("stop",
       [&](char* err, size_t n) { return plugin().stop ? plugin().stop(object, err, n) : 0; });
  if (state != InstanceState::failed) state = InstanceState::stopped;
}

void Instance::stop_sink() {
  if (state == InstanceState::failed) return;
  call("stop",
       [&](char* err, size_t n) { return plugin().stop ? plugin().stop(object, err, n) : 0; });
  if (state != InstanceState::failed) state = InstanceState::stopped;
}

bool Instance::call_returned(const char* what, int rc, const char* err, uint64_t start) {
  const uint64_t took_ms = (monotonic_ns() - start) / 1000000u;
  if (rc != 0) {
    fail(what, err);
    return false;
  }
  // A call that blocked held up every other probe and sink; it must not get to do it again.
  if (call_time_limit_ms > 0 && took_ms > call_time_limit_ms) {
    fail(what, "took " + std::to_string(took_ms) + " ms, over the limit of " +
                   std::to_string(call_time_limit_ms) + " ms ([agent] call_time_limit_ms)");
    return false;
  }
  return true;
}

void Instance::fail(const std::string& what, const std::string& message) {
  if (state == InstanceState::failed) return;
  state = InstanceState::failed;
  forget_fds();
  std::string lost;
  if (sink_id) {
    const size_t discarded = bus.retire(*sink_id);
    if (discarded > 0) lost = " (" + std::to_string(discarded) + " queued event(s) discarded)";
  }
  log_line(CT_LOG_ERROR,
           name + ": " + what + " failed, " + kind_word() + " disabled: " + message + lost);
}

void Instance::forget_fds() {
  for (int fd : fds) loop.unwatch(fd);
  fds.clear();
  if (timer) {
    loop.unwatch(timer.get());
    timer = UniqueFd();
  }
}

std::optional<size_t> Instance::consume(std::span<const ct_event* const> events) {
  size_t accepted = 0;
  if (!call("consume", [&](char* err, size_t n) {
        return plugin().consume(object, events.data(), events.size(), &accepted, err, n);
      })) {
    return std::nullopt;
  }
  return accepted;
}

}  // namespace cellos::telemetry
