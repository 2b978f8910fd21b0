#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "instance.hpp"

namespace cellos::telemetry {

// What --check-config prints: the files read, the plugin directories, the [agent] keys with the
// file (line:col) that set each, every instance that would run with its plugin, options and
// where it was configured, the instances turned off by the config, and an OK line.
// config_digest: what agent.hello will announce for this configuration (config_digest.hpp), so
// an operator can tell before a rollout which VMs will run it.
std::string check_config_report(const AgentConfig& config, const std::string& config_digest,
                                const std::vector<std::string>& plugin_dirs,
                                const std::vector<std::unique_ptr<Instance>>& probes,
                                const std::vector<std::unique_ptr<Instance>>& sinks);

}  // namespace cellos::telemetry
