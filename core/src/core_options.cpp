#include "core_options.hpp"

#include <cellos/telemetry/sdk.hpp>

namespace cellos::telemetry {
namespace {

constexpr ct_option_spec kAgent[] = {
    string_option("plugin_dir",
                  "where plugins are found, relative to the file that sets it; empty: the "
                  "directory they were installed into beside the agent (--plugin-dir overrides)",
                  ""),
    int_option("heartbeat_interval_ms",
               "agent.heartbeat to each sink that got nothing else for this long (0: never)", 5000,
               0, 3600000),
    int_option("shutdown_timeout_ms", "how long sinks may flush after SIGTERM or SIGINT", 2000, 0,
               60000),
    int_option("call_time_limit_ms",
               "a plugin call that takes longer gets its plugin disabled (0: no limit)", 2000, 0,
               600000),
    string_list_option("disable",
                       "instances to turn off: \"probes.NAME\" (every instance), "
                       "\"probes.NAME[INDEX]\", likewise sinks (for per-VM drop-ins)",
                       nullptr),
};

constexpr const char* kEveryEvent[] = {"*", nullptr};
// Sinks take the probe keys first, then their own: one array serves both kinds.
constexpr ct_option_spec kInstance[] = {
    bool_option("enabled", "set false to keep the instance but not run it (per-VM drop-ins)", true),
    string_list_option("match", "globs over probe_source: which events this sink receives",
                       kEveryEvent),
    int_option("queue_capacity",
               "events this sink may hold before the oldest are dropped (and counted)", 65536, 1,
               16777216),
    int_option("queue_bytes",
               "memory this sink's queue may hold before the oldest events are dropped (and "
               "counted); what a host outage costs the guest",
               1048576, 65536, 1073741824),
};

}  // namespace

std::span<const ct_option_spec> agent_options() {
  return kAgent;
}

std::span<const ct_option_spec> core_options(ct_kind kind) {
  return std::span<const ct_option_spec>(kInstance).first(kind == CT_KIND_SINK ? 4 : 1);
}

}  // namespace cellos::telemetry
