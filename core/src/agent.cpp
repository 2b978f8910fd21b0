#include "agent.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <system_error>

#include "log.hpp"

namespace cellos::telemetry {

struct Agent::Instance {
  Agent* agent = nullptr;
  InstanceConfig config;
  std::string name;
  std::shared_ptr<PluginLibrary> library;  // outlives `object`: see ~Instance
  OptionValues options;
  ct_host host{};
  void* object = nullptr;
  bool disabled = false;
  UniqueFd timer;
  std::vector<int> fds;
  // Sinks only.
  std::unique_ptr<SinkQueue> queue;
  std::unique_ptr<SourceMatcher> matcher;
  bool ready = true;  // false after consume took fewer than offered, until wake()
  bool fed_since_heartbeat = false;
  bool flushed = false;

  const ct_plugin& plugin() const { return library->descriptor(); }

  void forget_fds() {
    for (int fd : fds) agent->loop_.unwatch(fd);
    fds.clear();
    if (timer) {
      agent->loop_.unwatch(timer.get());
      timer = UniqueFd();
    }
  }

  ~Instance() {
    if (object) {
      forget_fds();
      plugin().destroy(object);
      object = nullptr;
    }
  }
};

namespace {

Agent::Instance& self(void* ctx) {
  return *static_cast<Agent::Instance*>(ctx);
}

std::string read_self_comm() {
  std::ifstream in("/proc/self/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "cellos-telemetr" : comm;
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
      self_comm_(read_self_comm()),
      self_pid_(static_cast<uint32_t>(getpid())) {}

Agent::~Agent() {
  // Probes first, so nothing emits into a sink being torn down; each instance destroys its
  // object before releasing its library.
  probes_.clear();
  sinks_.clear();
}

void Agent::load() {
  for (auto* list : {&config_.probes, &config_.sinks}) {
    for (const auto& ic : *list) {
      if (!ic.enabled) continue;
      auto inst = std::make_unique<Instance>();
      inst->agent = this;
      inst->config = ic;
      inst->name = ic.display_name();
      try {
        inst->library = find_and_load_plugin(plugin_dirs_, ic.kind, ic.plugin, allow_untrusted_);
      } catch (const ConfigError& e) {
        throw ConfigError(ic.where.str() + ": " + inst->name + ": " + e.what());
      }
      const ct_plugin& d = inst->plugin();
      inst->options = validate_options(ic, d.options, d.n_options);
      if (ic.kind == CT_KIND_SINK) {
        inst->queue = std::make_unique<SinkQueue>(ic.queue_capacity);
        inst->matcher = std::make_unique<SourceMatcher>(ic.match);
        sinks_.push_back(std::move(inst));
      } else {
        probes_.push_back(std::move(inst));
      }
    }
  }
}

std::string Agent::describe() const {
  std::string out = "config files (in merge order):\n";
  for (const auto& f : config_.files) out += "    " + f + "\n";
  out += "plugin directories:";
  for (const auto& d : plugin_dirs_) out += " " + d;
  const auto from = [&](const char* key) {
    const auto it = config_.agent_key_where.find(key);
    return it == config_.agent_key_where.end() ? std::string(" (default)")
                                               : " (" + it->second.str() + ")";
  };
  out += "\nheartbeat_interval_ms: " + std::to_string(config_.heartbeat_interval_ms) +
         from("heartbeat_interval_ms") +
         "\nshutdown_timeout_ms: " + std::to_string(config_.shutdown_timeout_ms) +
         from("shutdown_timeout_ms") +
         "\ncall_time_limit_ms: " + std::to_string(config_.call_time_limit_ms) +
         from("call_time_limit_ms") + "\n";
  if (!config_.disable.empty()) {
    out += "disable:";
    for (const auto& d : config_.disable) out += " " + d;
    out += from("disable") + "\n";
  }
  for (const auto* list : {&probes_, &sinks_}) {
    for (const auto& inst : *list) {
      const ct_plugin& d = inst->plugin();
      out += inst->name + " (" + inst->config.where.str() + "): " + d.name + " " + d.version +
             ", ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) + ", " +
             inst->library->path() + "\n";
      out += "    " + inst->options.describe();
      if (inst->config.kind == CT_KIND_SINK) {
        out += std::string(inst->options.size() ? ", " : "") + "match = [";
        for (size_t i = 0; i < inst->config.match.size(); ++i) {
          out += std::string(i ? ", " : "") + "\"" + inst->config.match[i] + "\"";
        }
        out += "], queue_capacity = " + std::to_string(inst->config.queue_capacity);
      }
      out += "\n";
    }
  }
  size_t disabled = 0;
  for (const auto* list : {&config_.probes, &config_.sinks}) {
    for (const auto& ic : *list) {
      if (ic.enabled) continue;
      ++disabled;
      out += ic.display_name() + " (" + ic.where.str() + "): disabled\n";
    }
  }
  out += "OK: " + std::to_string(probes_.size()) + " probe(s), " + std::to_string(sinks_.size()) +
         " sink(s)" + (disabled ? ", " + std::to_string(disabled) + " disabled instance(s)" : "") +
         "\n";
  return out;
}

void Agent::create(bool start_them) {
  for (auto* list : {&sinks_, &probes_}) {
    for (auto& inst : *list) {
      inst->host =
          ct_host{sizeof(ct_host),
                  inst.get(),
                  inst->name.c_str(),
                  [](void* ctx, const ct_event* e) {
                    auto& i = self(ctx);
                    if (i.disabled || e == nullptr) return;
                    // A plugin that hands the bus garbage is broken; better silent than lying.
                    std::string why = i.queue ? "a sink may not emit events" : check_event(*e);
                    if (!why.empty()) {
                      i.agent->disable(i, "emit", why);
                      return;
                    }
                    i.agent->route(*e);
                  },
                  [](void* ctx, int fd, uint32_t events) {
                    auto& i = self(ctx);
                    const int rc = i.agent->loop_.watch(fd, events, [&i, fd](uint32_t ev) {
                      if (i.disabled) return;
                      i.agent->call(i, "on_fd", [&](char* err, size_t n) {
                        return i.plugin().on_fd ? i.plugin().on_fd(i.object, fd, ev, err, n) : 0;
                      });
                    });
                    if (rc == 0 && std::find(i.fds.begin(), i.fds.end(), fd) == i.fds.end()) {
                      i.fds.push_back(fd);
                    }
                    return rc;
                  },
                  [](void* ctx, int fd) {
                    auto& i = self(ctx);
                    std::erase(i.fds, fd);
                    return i.agent->loop_.unwatch(fd);
                  },
                  [](void* ctx, uint64_t first_ns, uint64_t interval_ns) {
                    auto& i = self(ctx);
                    if (!i.timer) {
                      try {
                        i.timer = make_timer_fd();
                      } catch (const std::system_error& e) {
                        return -e.code().value();
                      }
                      const int tfd = i.timer.get();
                      const int rc = i.agent->loop_.watch(tfd, EPOLLIN, [&i, tfd](uint32_t) {
                        drain_timer_fd(tfd);
                        if (i.disabled) return;
                        i.agent->call(i, "on_timer", [&](char* err, size_t n) {
                          return i.plugin().on_timer ? i.plugin().on_timer(i.object, err, n) : 0;
                        });
                      });
                      if (rc != 0) return rc;
                    }
                    return arm_timer_fd(i.timer.get(), first_ns, interval_ns);
                  },
                  [](void* ctx, int level, const char* message) {
                    log_line(level, self(ctx).name + ": " + (message ? message : ""));
                  },
                  [](void* ctx) {
                    auto& i = self(ctx);
                    i.ready = true;
                    i.agent->pump_pending_ = true;
                  }};
      char err[512] = "";
      const ct_plugin& d = inst->plugin();
      if (d.create(&inst->host, inst->options.data(), inst->options.size(), &inst->object, err,
                   sizeof err) != 0) {
        inst->object = nullptr;
        throw ConfigError(inst->config.where.str() + ": " + inst->name + ": " +
                          inst->library->path() + ": cannot create: " + err);
      }
    }
  }
  if (!start_them) return;
  // Sinks first: a probe may emit from start().
  for (auto* list : {&sinks_, &probes_}) {
    for (auto& inst : *list) {
      char err[512] = "";
      if (inst->plugin().start && inst->plugin().start(inst->object, err, sizeof err) != 0) {
        throw ConfigError(inst->config.where.str() + ": " + inst->name + ": cannot start: " + err);
      }
    }
  }
}

bool Agent::call(Instance& inst, const char* what,
                 const std::function<int(char* err, size_t size)>& fn) {
  char err[512] = "";
  const uint64_t start = monotonic_ns();
  const int rc = fn(err, sizeof err);
  const uint64_t took_ms = (monotonic_ns() - start) / 1000000u;
  if (rc != 0) {
    disable(inst, what, err);
    return false;
  }
  // A call that blocked held up every other probe and sink; it must not get to do it again.
  if (config_.call_time_limit_ms > 0 && took_ms > config_.call_time_limit_ms) {
    disable(inst, what,
            "took " + std::to_string(took_ms) + " ms, over the limit of " +
                std::to_string(config_.call_time_limit_ms) + " ms ([agent] call_time_limit_ms)");
    return false;
  }
  return true;
}

void Agent::disable(Instance& inst, const std::string& what, const std::string& message) {
  if (inst.disabled) return;
  inst.disabled = true;
  inst.forget_fds();
  std::string lost;
  if (inst.queue && !inst.queue->empty()) {
    lost = " (" + std::to_string(inst.queue->size()) + " queued event(s) discarded)";
    inst.queue->discard_all();
  }
  log_line(CT_LOG_ERROR, inst.name + ": " + what + " failed, " + (inst.queue ? "sink" : "probe") +
                             " disabled: " + message + lost);
}

void Agent::route(const ct_event& e) {
  OwnedEvent owned = own_event(e);
  Instance* last = nullptr;
  for (auto& s : sinks_) {
    if (s->disabled || !s->matcher->matches(owned.probe_source)) continue;
    if (last) {
      last->queue->push(owned);
      last->fed_since_heartbeat = true;
    }
    last = s.get();
  }
  if (last) {  // the last sink takes the event without a copy
    last->queue->push(std::move(owned));
    last->fed_since_heartbeat = true;
  }
  pump_pending_ = true;
}

OwnedEvent Agent::self_event(const char* source) const {
  OwnedEvent e;
  e.probe_source = source;
  e.guest_pid = self_pid_;
  e.guest_comm = self_comm_;
  e.guest_monotonic_ns = monotonic_ns();
  return e;
}

void Agent::pump(Instance& s) {
  // Reused across calls: the hot path allocates nothing once these have grown.
  auto& views = pump_views_;
  auto& batch = pump_batch_;
  while (!s.disabled && s.ready) {
    if (s.queue->unreported_drops() > 0) {
      // Reported before anything newer, so the count says exactly what is missing here.
      OwnedEvent d = self_event("telemetry.dropped");
      d.extras.emplace_back("dropped_count", s.queue->unreported_drops());
      views[0].point_at(d);
      size_t accepted = 0;
      if (!call(s, "consume", [&](char* err, size_t n) {
            return s.plugin().consume(s.object, &views[0].event, 1, &accepted, err, n);
          })) {
        return;
      }
      if (accepted == 0) {
        s.ready = false;
        return;
      }
      s.queue->mark_drops_reported();
    }
    if (s.queue->empty()) return;
    const size_t n = std::min(kBatch, s.queue->size());
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      views[i].point_at(s.queue->at(i));
      batch.push_back(views[i].event);
    }
    size_t accepted = 0;
    if (!call(s, "consume", [&](char* err, size_t size) {
          return s.plugin().consume(s.object, batch.data(), n, &accepted, err, size);
        })) {
      return;
    }
    s.queue->pop(std::min(accepted, n));
    if (accepted < n) s.ready = false;
  }
}

void Agent::pump_sinks() {
  while (pump_pending_) {
    pump_pending_ = false;
    for (auto& s : sinks_) pump(*s);
  }
}

void Agent::on_heartbeat() {
  drain_timer_fd(heartbeat_fd_.get());
  for (auto& s : sinks_) {
    if (!s->fed_since_heartbeat && !s->disabled && s->matcher->matches("agent.heartbeat")) {
      s->queue->push(self_event("agent.heartbeat"));
      pump_pending_ = true;
    }
    s->fed_since_heartbeat = false;
  }
}

void Agent::stop_probes() {
  for (auto& p : probes_) {
    if (p->disabled) continue;
    p->forget_fds();
    call(*p, "stop", [&](char* err, size_t n) {
      return p->plugin().stop ? p->plugin().stop(p->object, err, n) : 0;
    });
    p->disabled = true;  // stopped: emits after this are ignored
  }
}

// One round of the shutdown flush. True when every sink has delivered all it holds.
bool Agent::flush_sinks() {
  bool all = true;
  for (auto& s : sinks_) {
    if (s->disabled || s->flushed) continue;
    if (!s->queue->empty() || s->queue->unreported_drops() > 0) {
      all = false;
      continue;
    }
    int done = 0;
    if (!call(*s, "flush", [&](char* err, size_t n) {
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
    loop_.watch(heartbeat_fd_.get(), EPOLLIN, [this](uint32_t) { on_heartbeat(); });
  }

  pump_sinks();
  while (!stop_requested_) {
    watch_log();
    loop_.run_once(-1);
    pump_sinks();
  }

  stop_probes();
  if (heartbeat_fd_) loop_.unwatch(heartbeat_fd_.get());
  pump_sinks();
  // Sinks keep their fds and timers until the deadline, so they can finish writing.
  const uint64_t deadline = monotonic_ns() + config_.shutdown_timeout_ms * 1000000ull;
  stop_requested_ = false;
  while (!flush_sinks()) {
    const uint64_t now = monotonic_ns();
    if (now >= deadline || stop_requested_) break;  // a second signal cuts the flush short
    watch_log();
    loop_.run_once(static_cast<int>(std::min<uint64_t>(10, (deadline - now) / 1000000 + 1)));
    pump_sinks();
  }
  for (auto& s : sinks_) {
    // The account an operator (or the soak test) can check: queued = taken + dropped + left.
    const SinkQueue& q = *s->queue;
    log_line(CT_LOG_INFO, s->name + ": " + std::to_string(q.total_pushed()) + " event(s) queued, " +
                              std::to_string(q.total_taken()) + " taken by the sink, " +
                              std::to_string(q.total_drops()) + " dropped, " +
                              std::to_string(q.size()) + " left at exit");
    if (s->disabled) continue;
    if (!s->flushed) {
      log_line(CT_LOG_WARN, s->name + ": shutdown deadline passed with " +
                                std::to_string(s->queue->size()) +
                                " queued event(s) not delivered");
    }
    call(*s, "stop", [&](char* err, size_t n) {
      return s->plugin().stop ? s->plugin().stop(s->object, err, n) : 0;
    });
  }
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

uint64_t Agent::total_drops(size_t sink_index) const {
  return sinks_.at(sink_index)->queue->total_drops();
}

}  // namespace cellos::telemetry
