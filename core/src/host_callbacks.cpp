#include "host_callbacks.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <system_error>

#include "event.hpp"
#include "event_names.hpp"
#include "instance.hpp"
#include "log.hpp"

namespace cellos::telemetry {

namespace {

// watch_fd's bits go to epoll and epoll's to on_fd unchanged (plugin_abi.h), so each CT_FD_* is
// its EPOLL* value: a PSI trigger's POLLPRI reaches the probe as CT_FD_PRIORITY.
constexpr bool same_bits(int ct, uint32_t epoll) {
  return static_cast<uint32_t>(ct) == epoll;
}
static_assert(same_bits(CT_FD_READ, EPOLLIN) && same_bits(CT_FD_PRIORITY, EPOLLPRI) &&
              same_bits(CT_FD_WRITE, EPOLLOUT) && same_bits(CT_FD_ERROR, EPOLLERR) &&
              same_bits(CT_FD_HANGUP, EPOLLHUP));

Instance& self(void* ctx) {
  return *static_cast<Instance*>(ctx);
}

}  // namespace

void host_emit(void* ctx, const ct_event* event) {
  auto& i = self(ctx);
  if (!i.active() || event == nullptr) return;
  // A probe emits the same few names over and over: the one it emitted last, already found
  // well-formed and declared, is not checked again (only the rest of the event is).
  // strcmp: one pass, where comparing with a std::string measures the name first.
  const bool known_source = event->probe_source != nullptr && !i.last_source.empty() &&
                            std::strcmp(i.last_source.c_str(), event->probe_source) == 0;
  // The lengths of its texts, measured by the checks of a known name, are the record's.
  TextLengths lengths;
  if (known_source && i.kind != CT_KIND_SINK && passes_without_extras(*event, &lengths.comm)) {
    lengths.source = i.last_source.size();
    i.bus.route(*event, &lengths);
    return;
  }
  std::string why = i.kind == CT_KIND_SINK ? std::string("a sink may not emit events")
                    : known_source         ? check_event_after_source(*event, &lengths.comm)
                                           : check_event(*event);
  // A probe emits only the names it declared: the rest (the core's agent.* and telemetry.*
  // included) belong to someone else, and a reader must be able to trust probe_source.
  if (why.empty() && !known_source) {
    if (declared(i.emits, event->probe_source)) {
      i.last_source = event->probe_source;
    } else {
      why = std::string("probe_source '") + event->probe_source +
            "' is not among the names plugin '" + i.plugin().name + "' declares it emits (" +
            join_emits(i.plugin().emits) + ")";
    }
  }
  if (!why.empty()) {
    i.fail("emit", why);
    return;
  }
  lengths.source = i.last_source.size();
  i.bus.route(*event, known_source ? &lengths : nullptr);
}

int host_watch_fd(void* ctx, int fd, uint32_t events) {
  auto& i = self(ctx);
  const int rc = i.loop.watch(fd, events, [&i, fd](uint32_t ev) {
    if (!i.active()) return;
    i.call("on_fd", [&](char* err, size_t n) {
      return i.plugin().on_fd ? i.plugin().on_fd(i.object, fd, ev, err, n) : 0;
    });
  });
  if (rc == 0 && std::find(i.fds.begin(), i.fds.end(), fd) == i.fds.end()) i.fds.push_back(fd);
  return rc;
}

int host_unwatch_fd(void* ctx, int fd) {
  auto& i = self(ctx);
  std::erase(i.fds, fd);
  return i.loop.unwatch(fd);
}

int host_arm_timer(void* ctx, uint64_t first_ns, uint64_t interval_ns) {
  auto& i = self(ctx);
  if (!i.timer) {
    try {
      i.timer = make_timer_fd();
    } catch (const std::system_error& e) {
      return -e.code().value();
    }
    const int tfd = i.timer.get();
    const int rc = i.loop.watch(tfd, EPOLLIN, [&i, tfd](uint32_t) {
      drain_timer_fd(tfd);
      if (!i.active()) return;
      i.call("on_timer", [&](char* err, size_t n) {
        return i.plugin().on_timer ? i.plugin().on_timer(i.object, err, n) : 0;
      });
    });
    if (rc != 0) return rc;
  }
  return arm_timer_fd(i.timer.get(), first_ns, interval_ns);
}

void host_log(void* ctx, int level, const char* message) {
  log_line(level, self(ctx).name + ": " + (message ? message : ""));
}

void host_wake(void* ctx) {
  auto& i = self(ctx);
  if (i.sink_id) i.bus.wake(*i.sink_id);
}

ct_host make_host(Instance& inst) {
  // A stream identity even for an instance made without an agent (tests): never NULL.
  static const ct_stream_info kNone{sizeof(ct_stream_info), 0, "", "", ""};
  return ct_host{sizeof(ct_host),   &inst,
                 inst.name.c_str(), host_emit,
                 host_watch_fd,     host_unwatch_fd,
                 host_arm_timer,    host_log,
                 host_wake,         inst.stream ? inst.stream : &kNone};
}

}  // namespace cellos::telemetry
