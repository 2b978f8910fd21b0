#include "check_config_report.hpp"

#include "event_names.hpp"

namespace cellos::telemetry {

std::string check_config_report(const AgentConfig& config, const std::string& config_digest,
                                const std::vector<std::string>& plugin_dirs,
                                const std::vector<std::unique_ptr<Instance>>& probes,
                                const std::vector<std::unique_ptr<Instance>>& sinks) {
  std::string out = "config files (in merge order):\n";
  for (const auto& f : config.files) out += "    " + f + "\n";
  out += "plugin directories:";
  for (const auto& d : plugin_dirs) out += " " + d;
  const auto from = [&](const char* key) {
    const auto it = config.agent_key_where.find(key);
    return it == config.agent_key_where.end() ? std::string(" (default)")
                                              : " (" + it->second.str() + ")";
  };
  out += "\nheartbeat_interval_ms: " + std::to_string(config.heartbeat_interval_ms) +
         from("heartbeat_interval_ms") +
         "\nshutdown_timeout_ms: " + std::to_string(config.shutdown_timeout_ms) +
         from("shutdown_timeout_ms") +
         "\ncall_time_limit_ms: " + std::to_string(config.call_time_limit_ms) +
         from("call_time_limit_ms") + "\n";
  if (!config.disable.empty()) {
    out += "disable:";
    for (const auto& d : config.disable) out += " " + d;
    out += from("disable") + "\n";
  }
  for (const auto* list : {&probes, &sinks}) {
    for (const auto& inst : *list) {
      const ct_plugin& d = inst->plugin();
      out += inst->name + " (" + inst->config.where.str() + "): " + d.name + " " + d.version +
             ", ABI " + std::to_string(d.abi_major) + "." + std::to_string(d.abi_minor) + ", " +
             inst->library->path() + "\n";
      // What a probe may emit, for the operator writing sinks' `match` globs.
      if (inst->kind == CT_KIND_PROBE) out += "    emits: " + join_emits(d.emits) + "\n";
      out += "    " + inst->options.describe();
      if (inst->kind == CT_KIND_SINK) {
        out += std::string(inst->options.size() ? ", " : "") + "match = [";
        for (size_t i = 0; i < inst->config.match.size(); ++i) {
          out += std::string(i ? ", " : "") + "\"" + inst->config.match[i] + "\"";
        }
        out += "], queue_capacity = " + std::to_string(inst->config.queue_capacity) +
               ", queue_bytes = " + std::to_string(inst->config.queue_bytes);
      }
      out += "\n";
    }
  }
  // Turned off by the config ([agent] disable or enabled = false): never loaded, listed so the
  // operator sees them. Not to be confused with an instance failed at runtime (instance.hpp).
  size_t turned_off = 0;
  for (const auto* list : {&config.probes, &config.sinks}) {
    for (const auto& ic : *list) {
      if (ic.enabled) continue;
      ++turned_off;
      out += ic.display_name() + " (" + ic.where.str() + "): disabled\n";
    }
  }
  out += "config_digest: " + config_digest + " (agent.hello announces it)\n";
  out += "OK: " + std::to_string(probes.size()) + " probe(s), " + std::to_string(sinks.size()) +
         " sink(s)" +
         (turned_off ? ", " + std::to_string(turned_off) + " disabled instance(s)" : "") + "\n";
  return out;
}

}  // namespace cellos::telemetry
