#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>

namespace cellos::telemetry {

class Instance;

// The functions of the ct_host an instance hands its plugin (plugin_abi.h says what each
// promises). ctx is the Instance. They run on the loop thread, from inside the plugin's calls
// or its create, and ignore an instance that failed or was stopped.

// Probes: copies the event to the bus. An event breaking the contract (event.hpp), or any emit
// from a sink, fails the instance instead: better silent than lying.
void host_emit(void* ctx, const ct_event* event);
// Watches fd on the event loop and calls the plugin's on_fd when it is ready. 0 or -errno.
int host_watch_fd(void* ctx, int fd, uint32_t events);
int host_unwatch_fd(void* ctx, int fd);
// The instance's one timer (a timerfd, made on first use) calling on_timer. 0 or -errno.
int host_arm_timer(void* ctx, uint64_t first_ns, uint64_t interval_ns);
// One log line on stderr, prefixed with the instance name.
void host_log(void* ctx, int level, const char* message);
// Sinks: can take events again; the bus offers them at its next pump. From a probe: ignored.
void host_wake(void* ctx);

// The ct_host for inst, pointing at the functions above.
ct_host make_host(Instance& inst);

}  // namespace cellos::telemetry
