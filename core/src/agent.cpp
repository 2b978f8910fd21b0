#include "agent.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>

#include "check_config_report.hpp"
#include "config_digest.hpp"
#include "log.hpp"

#ifndef CELLOS_TELEMETRY_VERSION
#define CELLOS_TELEMETRY_VERSION "0.0.0"
#endif

namespace cellos::telemetry {

namespace {

// With read(2), not a stream: the agent links no <fstream> (nor the locale set-up it brings).
std::string read_self_comm() {
  char buf[64];
  ssize_t n = -1;
  if (const int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC); fd >= 0) {
    n = read(fd, buf, sizeof buf);
    close(fd);
  }
  std::string comm(buf, n > 0 ? static_cast<size_t>(n) : 0);
  if (const auto nl = comm.find('\n'); nl != std::string::npos) comm.resize(nl);
  return comm.empty() ? "cellos-telemetr" : comm;
}

std::string hex_id(uint64_t id) {
  char s[20];
  std::snprintf(s, sizeof s, "%016llx", static_cast<unsigned long long>(id));
  return s;
}

}  // namespace

void prepare_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Agent::Agent(AgentConfig config, std::vector<std::string> plugin_dirs)
    : config_(std::move(config)),
      plugin_dirs_(std::move(plugin_dirs)),
      stream_(draw_stream_id(), read_boot_id(), CELLOS_TELEMETRY_VERSION),
      bus_(Bus::Origin{static_cast<uint32_t>(getpid()), read_self_comm()}) {}

Agent::~Agent() {
  // Probes first, so nothing emits into a sink being torn down; each instance destroys its
  // object before releasing its library.
  probes_.clear();
  sinks_.clear();
}

void Agent::load() {
  for (auto* list : {&config_.probes, &config_.sinks}) {
    for (const auto& ic : *list) {
      if (!ic.enabled) continue;  // turned off by the config
      std::shared_ptr<PluginLibrary> library;
      try {
        library = find_and_load_plugin(plugin_dirs_, ic.kind, ic.plugin, allow_untrusted_);
      } catch (const ConfigError& e) {
        throw ConfigError(ic.where.str() + ": " + ic.display_name() + ": " + e.what());
      }
      const ct_plugin& d = library->descriptor();
      OptionValues options = validate_options(ic, d.options, d.n_options);
      auto inst = std::make_unique<Instance>(ic, std::move(library), std::move(options), loop_,
                                             bus_, config_.call_time_limit_ms);
      inst->stream = stream_.info();
      if (inst->kind == CT_KIND_SINK) {
        inst->sink_id = bus_.add_sink(*inst, ic.match, ic.queue_capacity, ic.queue_bytes);
        sinks_.push_back(std::move(inst));
      } else {
        probes_.push_back(std::move(inst));
      }
    }
  }
  std::vector<DigestedInstance> digested;
  for (const auto* list : {&probes_, &sinks_}) {
    for (const auto& inst : *list) digested.push_back({&inst->config, &inst->options});
  }
  stream_.set_config_digest(config_digest(config_.agent, digested));
}

std::string Agent::describe() const {
  return check_config_report(config_, stream_.info()->config_digest, plugin_dirs_, probes_, sinks_);
}

void Agent::create() {
  for (auto* list : {&sinks_, &probes_}) {
    for (auto& inst : *list) inst->create();
  }
}

void Agent::start() {
  // Sinks first: a probe may emit from start().
  for (auto* list : {&sinks_, &probes_}) {
    for (auto& inst : *list) inst->start();
  }
}

void Agent::stop_probes() {
  for (auto& p : probes_) p->stop_probe();
}

// One round of the shutdown flush. True when every sink has delivered all it holds.
bool Agent::flush_sinks() {
  bool all = true;
  for (auto& s : sinks_) {
    if (s->state == InstanceState::failed || s->flushed) continue;
    if (!bus_.drained(*s->sink_id)) {
      all = false;
      continue;
    }
    int done = 0;
    if (!s->call("flush", [&](char* err, size_t n) {
          return s->plugin().flush ? s->plugin().flush(s->object, &done, err, n) : (done = 1, 0);
        })) {
      continue;
    }
    if (done) {
      s->flushed = true;
    } else {
      all = false;
    }
  }
  return all;
}

void Agent::stop_sinks() {
  for (auto& s : sinks_) {
    log_line(CT_LOG_INFO, s->name + ": " + bus_.exit_account(*s->sink_id));
    if (s->state == InstanceState::failed) continue;
    if (!s->flushed) {
      log_line(CT_LOG_WARN, s->name + ": shutdown deadline passed with " +
                                std::to_string(bus_.queue(*s->sink_id).size()) +
                                " queued event(s) not delivered");
    }
    s->stop_sink();
  }
}

void Agent::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  signal_fd_ = UniqueFd(signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) throw std::system_error(errno, std::generic_category(), "signalfd");
  loop_.watch(signal_fd_.get(), EPOLLIN, [this](uint32_t) {
    signalfd_siginfo info{};
    while (read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      stop_requested_ = true;
    }
  });
  if (config_.heartbeat_interval_ms > 0) {
    heartbeat_fd_ = make_timer_fd();
    const uint64_t ns = config_.heartbeat_interval_ms * 1000000ull;
    arm_timer_fd(heartbeat_fd_.get(), ns, ns);
    loop_.watch(heartbeat_fd_.get(), EPOLLIN, [this](uint32_t) {
      drain_timer_fd(heartbeat_fd_.get());
      bus_.heartbeat();
    });
  }

  watch_generation();

  bus_.pump();
  while (!stop_requested_) {
    watch_log();
    loop_.run_once(-1);
    bus_.pump();
  }

  stop_probes();
  if (heartbeat_fd_) loop_.unwatch(heartbeat_fd_.get());
  if (generation_) loop_.unwatch(generation_->fd());
  bus_.pump();
  // Sinks keep their fds and timers until the deadline, so they can finish writing.
  const uint64_t deadline = monotonic_ns() + config_.shutdown_timeout_ms * 1000000ull;
  stop_requested_ = false;
  while (!flush_sinks()) {
    const uint64_t now = monotonic_ns();
    if (now >= deadline || stop_requested_) break;  // a second signal cuts the flush short
    watch_log();
    loop_.run_once(static_cast<int>(std::min<uint64_t>(10, (deadline - now) / 1000000 + 1)));
    bus_.pump();
  }
  stop_sinks();
  // What the console did not take by now is written at exit as far as it goes without waiting.
  if (log_watched_fd_ >= 0) loop_.unwatch(log_watched_fd_);
  log_watched_fd_ = -1;
}

// Log lines wait in a buffer while the console takes nothing (log.hpp); the loop watches the
// console for room only while they do, so an idle agent is not woken by a writable console.
void Agent::watch_log() {
  const int fd = log_pending_fd();
  if (fd == log_watched_fd_) return;
  if (log_watched_fd_ >= 0) loop_.unwatch(log_watched_fd_);
  log_watched_fd_ = -1;
  // A regular file cannot be watched (EPERM), but it never makes a writer wait either.
  if (fd >= 0 && loop_.watch(fd, EPOLLOUT, [](uint32_t) { log_flush(); }) == 0) {
    log_watched_fd_ = fd;
  }
}

}  // namespace cellos::telemetry

namespace cellos::telemetry {

// Without the watch the agent still runs; only a restored snapshot would go unnoticed, and two
// clones would share a stream. Said once, at start.
void Agent::watch_generation() {
  try {
    generation_ = uevent_socket_for_test_.empty()
                      ? GenerationWatch::kernel()
                      : GenerationWatch::unix_socket_for_test(uevent_socket_for_test_);
  } catch (const std::system_error& e) {
    log_line(CT_LOG_WARN, std::string("cannot watch for VM generation changes (") + e.what() +
                              "): a restored snapshot or a clone keeps this stream_id");
    return;
  }
  loop_.watch(generation_->fd(), EPOLLIN, [this](uint32_t) {
    if (generation_->read_announcements()) on_new_generation();
  });
}

void Agent::on_new_generation() {
  const uint64_t previous = stream_.current();
  uint64_t next = draw_stream_id();
  while (next == previous) next = draw_stream_id();
  stream_.replace(next);
  log_line(CT_LOG_INFO, "VM generation changed (snapshot restored or cloned): stream " +
                            hex_id(previous) + " is now " + hex_id(next) +
                            "; probes resynchronise");
  // Sinks first, so what the probes report on resync follows agent.restored in every stream.
  bus_.restore(next, previous);
  for (auto& p : probes_) {
    const ct_plugin& d = p->plugin();
    if (p->state != InstanceState::running || d.struct_size < CT_PLUGIN_SIZE_2_1 || !d.resync) {
      continue;  // an ABI 2.0 probe has no resync: it keeps what it knows
    }
    p->call("resync", [&](char* err, size_t n) { return p->plugin().resync(p->object, err, n); });
  }
}

}  // namespace cellos::telemetry
