#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace toml {
inline namespace v3 {
class table;
}
}  // namespace toml

namespace cellos::telemetry {

// A configuration or plugin-loading problem; what() is the whole message, already prefixed
// with FILE:LINE:COL or the plugin path. Exit code 78.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SourcePos {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string str() const;  // FILE:LINE:COL (or FILE when no position)
};

// One [[probes.NAME]] or [[sinks.NAME]] table. The plugin's own options are validated later,
// once the plugin is loaded and its option table is known.
struct InstanceConfig {
  ct_kind kind = CT_KIND_PROBE;
  std::string plugin;  // NAME
  size_t index = 0;    // n-th instance of that plugin
  SourcePos where;
  bool enabled = true;
  // Sinks only.
  std::vector<std::string> match{"*"};
  size_t queue_capacity = 65536;
  std::shared_ptr<const toml::table> document;  // keeps `table` and its source positions alive
  const toml::table* table = nullptr;           // the plugin's keys, plus the core's above
  std::string display_name() const;             // probes.process[0]
};

struct AgentConfig {
  std::string file;                // the base file
  std::vector<std::string> files;  // every file read, base first, then drop-ins in order
  std::string plugin_dir;
  uint64_t heartbeat_interval_ms = 5000;
  uint64_t shutdown_timeout_ms = 2000;
  uint64_t call_time_limit_ms = 2000;  // a plugin call taking longer gets its plugin disabled
  std::vector<std::string> disable;    // instance names turned off ([agent] disable)
  std::map<std::string, SourcePos> agent_key_where;  // which file set each [agent] key
  std::vector<InstanceConfig> probes;
  std::vector<InstanceConfig> sinks;
};

// <directory of the config file>/agent.d
std::string default_drop_in_dir(const std::string& config_path);

// Reads the base file, then every *.toml in drop_in_dir in lexical order: [agent] keys of later
// files override, instance tables add instances. Validates everything the core owns. Throws
// ConfigError, also for a file that is not a regular file, is over 1 MiB or cannot be read
// (config_file.hpp), and for a drop_in_dir that exists but cannot be listed.
AgentConfig load_config_file(const std::string& path, const std::string& default_plugin_dir,
                             const std::string& drop_in_dir);
// One document on its own (tests, fuzzing).
AgentConfig parse_config(const std::string& text, const std::string& path,
                         const std::string& default_plugin_dir);

// Validated option values for one instance, owning the strings ct_option_value points into.
class OptionValues {
 public:
  const ct_option_value* data() const { return values_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(values_.size()); }
  std::string describe() const;  // key = value, ... for --check-config

 private:
  friend OptionValues validate_options(const InstanceConfig&, const ct_option_spec*, uint32_t);
  struct Storage {
    std::string string_value;
    std::vector<std::string> list;
    std::vector<const char*> list_ptrs;
  };
  std::vector<std::unique_ptr<Storage>> storage_;
  std::vector<ct_option_value> values_;
};

// Checks the instance's table against the plugin's declared options (unknown key, wrong type,
// out of range, not one of the choices) and fills defaults. Throws ConfigError.
OptionValues validate_options(const InstanceConfig& inst, const ct_option_spec* specs,
                              uint32_t n_specs);

}  // namespace cellos::telemetry
