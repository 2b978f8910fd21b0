#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
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

// Validated option values, one per declared option in declaration order, owning the strings
// ct_option_value points into.
class OptionValues {
 public:
  const ct_option_value* data() const { return values_.data(); }
  uint32_t size() const { return static_cast<uint32_t>(values_.size()); }
  std::string describe() const;  // key = value, ... for --check-config
  // Replaces value i with value i of `other`, read against the same table (a later file's).
  void take(uint32_t i, OptionValues& other);

 private:
  friend OptionValues read_option_values(const toml::table&, const std::string&,
                                         std::span<const ct_option_spec>);
  struct Storage {
    std::string string_value;
    std::vector<std::string> list;
    std::vector<const char*> list_ptrs;
  };
  std::vector<std::unique_ptr<Storage>> storage_;
  std::vector<ct_option_value> values_;
};

// One [[probes.NAME]] or [[sinks.NAME]] table. The core's keys (core_options.hpp) are read when
// the file is; the plugin's own options later, once the plugin and its option table are loaded.
struct InstanceConfig {
  ct_kind kind = CT_KIND_PROBE;
  std::string plugin;  // NAME
  size_t index = 0;    // n-th instance of that plugin
  SourcePos where;
  // The core's keys, as core_options(kind) declares them (defaults there).
  bool enabled = false;
  std::vector<std::string> match;               // sinks only
  size_t queue_capacity = 0;                    // sinks only
  size_t queue_bytes = 0;                       // sinks only
  std::shared_ptr<const toml::table> document;  // keeps `table` and its source positions alive
  const toml::table* table = nullptr;           // the plugin's keys, plus the core's above
  std::string display_name() const;             // probes.process[0]
};

struct AgentConfig {
  std::string file;                // the base file
  std::vector<std::string> files;  // every file read, base first, then drop-ins in order
  // [agent], as agent_options() declares it (meanings and defaults there): every key, the later
  // file's where several set it, then the same values typed.
  OptionValues agent;
  std::map<std::string, SourcePos> agent_key_where;  // which file set each [agent] key
  std::string plugin_dir;
  uint64_t heartbeat_interval_ms = 0;
  uint64_t shutdown_timeout_ms = 0;
  uint64_t call_time_limit_ms = 0;
  std::vector<std::string> disable;
  std::vector<InstanceConfig> probes;
  std::vector<InstanceConfig> sinks;
};

// <directory of the config file>/agent.d
std::string default_drop_in_dir(const std::string& config_path);

// Reads the base file, then every *.toml in drop_in_dir in lexical order: [agent] keys of later
// files override, instance tables add instances. Validates everything the core owns. Throws
// ConfigError, also for a file that is not a regular file, is over 1 MiB or cannot be read
// (config_file.hpp), and for a drop_in_dir that exists but cannot be listed.
AgentConfig load_config_file(const std::string& path, const std::string& drop_in_dir);
// One document on its own (tests, fuzzing).
AgentConfig parse_config(const std::string& text, const std::string& path);

// Checks the instance's table against the plugin's declared options (unknown key, wrong type,
// out of range, not one of the choices) and fills defaults. Throws ConfigError.
OptionValues validate_options(const InstanceConfig& inst, const ct_option_spec* specs,
                              uint32_t n_specs);

// The values of the keys `specs` declares, from table t of `file` (wrong type, out of range,
// not one of the choices: ConfigError with FILE:LINE:COL), defaults for those it lacks. Other
// keys are not looked at. The one reader of declared options, the core's and the plugins'.
OptionValues read_option_values(const toml::table& t, const std::string& file,
                                std::span<const ct_option_spec> specs);

}  // namespace cellos::telemetry
