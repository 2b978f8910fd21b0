#include "config.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <filesystem>

#include <cellos/telemetry/sdk.hpp>

#include "config_file.hpp"
#include "core_options.hpp"

namespace cellos::telemetry {
namespace {

SourcePos pos_of(const std::string& file, const toml::source_region& r) {
  return SourcePos{file, r.begin.line, r.begin.column};
}

[[noreturn]] void fail(const SourcePos& where, const std::string& message) {
  throw ConfigError(where.str() + ": " + message);
}

const char* node_type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date or time";
  }
}

// Typed values, for read_option_values.
int64_t get_int(const std::string& file, const toml::key& k, const toml::node& n, int64_t min,
                int64_t max) {
  const auto* v = n.as_integer();
  if (!v)
    fail(pos_of(file, n.source()),
         "'" + std::string(k.str()) + "' must be an integer, not " + node_type_name(n));
  const int64_t x = v->get();
  if (x < min || x > max) {
    fail(pos_of(file, n.source()), "'" + std::string(k.str()) + "' = " + std::to_string(x) +
                                       " is out of range [" + std::to_string(min) + ", " +
                                       std::to_string(max) + "]");
  }
  return x;
}

std::string get_string(const std::string& file, const toml::key& k, const toml::node& n) {
  const auto* v = n.as_string();
  if (!v)
    fail(pos_of(file, n.source()),
         "'" + std::string(k.str()) + "' must be a string, not " + node_type_name(n));
  return v->get();
}

bool get_bool(const std::string& file, const toml::key& k, const toml::node& n) {
  const auto* v = n.as_boolean();
  if (!v)
    fail(pos_of(file, n.source()),
         "'" + std::string(k.str()) + "' must be a boolean, not " + node_type_name(n));
  return v->get();
}

std::vector<std::string> get_string_list(const std::string& file, const toml::key& k,
                                         const toml::node& n) {
  const auto* arr = n.as_array();
  if (!arr) {
    fail(pos_of(file, n.source()),
         "'" + std::string(k.str()) + "' must be an array of strings, not " + node_type_name(n));
  }
  std::vector<std::string> out;
  for (const auto& item : *arr) {
    const auto* s = item.as_string();
    if (!s) {
      fail(pos_of(file, item.source()),
           "'" + std::string(k.str()) + "' must hold only strings, not " + node_type_name(item));
    }
    out.push_back(s->get());
  }
  return out;
}

// Every key of t must be declared in `own` or in `others` (validated elsewhere).
void reject_unknown_keys(const std::string& file, const toml::table& t, const std::string& section,
                         std::span<const ct_option_spec> own,
                         std::span<const ct_option_spec> others) {
  const auto declared = [&](std::string_view key) {
    for (const auto* specs : {&own, &others}) {
      for (const auto& spec : *specs) {
        if (key == spec.key) return true;
      }
    }
    return false;
  };
  for (const auto& [k, v] : t) {
    if (declared(k.str())) continue;
    std::string names;
    for (const auto* specs : {&own, &others}) {
      for (const auto& spec : *specs) names += std::string(names.empty() ? "" : ", ") + spec.key;
    }
    fail(pos_of(file, k.source()),
         "unknown key '" + std::string(k.str()) + "' in " + section + " (known: " + names + ")");
  }
}

// Later files override earlier ones key by key; each key remembers the file that set it.
void parse_agent(AgentConfig& cfg, const std::string& file, const toml::node& node) {
  const auto* t = node.as_table();
  if (!t) fail(pos_of(file, node.source()), "[agent] must be a table");
  reject_unknown_keys(file, *t, "[agent]", agent_options(), {});
  OptionValues values = read_option_values(*t, file, agent_options());
  for (uint32_t i = 0; i < values.size(); ++i) {
    const auto it = t->find(values.data()[i].key);
    if (it == t->end()) continue;
    cfg.agent_key_where[std::string(it->first.str())] = pos_of(file, it->second.source());
    cfg.agent.take(i, values);
  }
}

// Takes the core's keys out of an instance table; what remains belongs to the plugin.
InstanceConfig parse_instance(const std::string& file, ct_kind kind, const std::string& plugin,
                              size_t index, const toml::table& t) {
  InstanceConfig inst;
  inst.kind = kind;
  inst.plugin = plugin;
  inst.index = index;
  inst.where = pos_of(file, t.source());
  inst.table = &t;
  const OptionValues values = read_option_values(t, file, core_options(kind));
  const Options core(values.data(), values.size());
  inst.enabled = core.get_bool("enabled");
  if (kind == CT_KIND_SINK) {
    inst.match = core.get_list("match");
    // An empty list would route nothing, silently: no ct_option_spec field can say "not empty".
    if (inst.match.empty())
      fail(pos_of(file, t.get("match")->source()), "'match' must not be empty");
    inst.queue_capacity = static_cast<size_t>(core.get_int("queue_capacity"));
    inst.queue_bytes = static_cast<size_t>(core.get_int("queue_bytes"));
  }
  return inst;
}

void parse_section(AgentConfig& cfg, const std::string& file, ct_kind kind,
                   const toml::key& section_key, const toml::node& node) {
  const std::string section(section_key.str());
  const auto* t = node.as_table();
  if (!t) fail(pos_of(file, node.source()), "[" + section + "] must be a table of plugins");
  auto& list = kind == CT_KIND_PROBE ? cfg.probes : cfg.sinks;
  for (const auto& [name, v] : *t) {
    const std::string plugin(name.str());
    size_t index = 0;
    for (const auto& existing : list) index += existing.plugin == plugin ? 1 : 0;
    if (const auto* one = v.as_table()) {
      list.push_back(parse_instance(file, kind, plugin, index, *one));
    } else if (const auto* many = v.as_array()) {
      for (const auto& item : *many) {
        const auto* it = item.as_table();
        if (!it) {
          fail(pos_of(file, item.source()),
               "[[" + section + "." + plugin + "]] entries must be tables");
        }
        list.push_back(parse_instance(file, kind, plugin, index++, *it));
      }
    } else {
      fail(pos_of(file, name.source()), "'" + section + "." + plugin +
                                            "' must be a table: write [[" + section + "." + plugin +
                                            "]]");
    }
  }
}

}  // namespace

std::string SourcePos::str() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string InstanceConfig::display_name() const {
  return std::string(kind == CT_KIND_PROBE ? "probes." : "sinks.") + plugin + "[" +
         std::to_string(index) + "]";
}

void merge_config(AgentConfig& cfg, const std::string& text, const std::string& path) {
  auto document = std::make_shared<toml::table>();
  try {
    *document = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail(pos_of(path, e.source()), std::string(e.description()));
  }
  cfg.files.push_back(path);
  const size_t first_probe = cfg.probes.size(), first_sink = cfg.sinks.size();
  for (const auto& [k, v] : *document) {
    if (k == "agent") {
      parse_agent(cfg, path, v);
    } else if (k == "probes") {
      parse_section(cfg, path, CT_KIND_PROBE, k, v);
    } else if (k == "sinks") {
      parse_section(cfg, path, CT_KIND_SINK, k, v);
    } else {
      fail(pos_of(path, k.source()),
           "unknown top-level key '" + std::string(k.str()) + "' (known: agent, probes, sinks)");
    }
  }
  for (size_t i = first_probe; i < cfg.probes.size(); ++i) cfg.probes[i].document = document;
  for (size_t i = first_sink; i < cfg.sinks.size(); ++i) cfg.sinks[i].document = document;
}

void finish_config(AgentConfig& cfg) {
  const Options agent(cfg.agent.data(), cfg.agent.size());
  cfg.plugin_dir = agent.get_string("plugin_dir");
  cfg.heartbeat_interval_ms = static_cast<uint64_t>(agent.get_int("heartbeat_interval_ms"));
  cfg.shutdown_timeout_ms = static_cast<uint64_t>(agent.get_int("shutdown_timeout_ms"));
  cfg.call_time_limit_ms = static_cast<uint64_t>(agent.get_int("call_time_limit_ms"));
  cfg.disable = agent.get_list("disable");
  // [agent] disable: "probes.NAME" turns off every instance of NAME, "probes.NAME[i]" one.
  for (const auto& name : cfg.disable) {
    bool found = false;
    for (auto* list : {&cfg.probes, &cfg.sinks}) {
      for (auto& inst : *list) {
        const std::string full = inst.display_name();
        if (name == full || name == full.substr(0, full.find('['))) {
          inst.enabled = false;
          found = true;
        }
      }
    }
    if (!found) {
      fail(cfg.agent_key_where.at("disable"),
           "'disable' names '" + name + "', which no file configures (write probes.NAME, " +
               "sinks.NAME or probes.NAME[INDEX])");
    }
  }
  bool any_sink = false;
  for (const auto& s : cfg.sinks) any_sink = any_sink || s.enabled;
  if (!any_sink) {
    fail(SourcePos{cfg.file, 0, 0},
         "no sink is configured: events would go nowhere (add [[sinks.stdout]] or "
         "[[sinks.vsock]])");
  }
}

// Every [agent] key starts at its declared default; files then override key by key.
AgentConfig new_config(const std::string& path) {
  AgentConfig cfg;
  cfg.file = path;
  cfg.agent = read_option_values(toml::table{}, path, agent_options());
  return cfg;
}

AgentConfig parse_config(const std::string& text, const std::string& path) {
  AgentConfig cfg = new_config(path);
  merge_config(cfg, text, path);
  finish_config(cfg);
  return cfg;
}

std::string default_drop_in_dir(const std::string& config_path) {
  return (std::filesystem::path(config_path).parent_path() / "agent.d").string();
}

AgentConfig load_config_file(const std::string& path, const std::string& drop_in_dir) {
  AgentConfig cfg = new_config(path);
  merge_config(cfg, read_config_file(path), path);
  // Every *.toml entry is taken, whatever it is: read_config_file refuses what is not a regular
  // file, so a directory or a FIFO named like a drop-in is an error, never silently skipped.
  std::vector<std::string> drop_ins;
  std::error_code ec;
  std::filesystem::directory_iterator it(drop_in_dir, ec);
  if (ec == std::errc::no_such_file_or_directory) ec.clear();  // no drop-ins: the usual case
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() == ".toml" && !p.filename().string().starts_with(".")) {
      drop_ins.push_back(p.string());
    }
  }
  if (ec) throw ConfigError(drop_in_dir + ": cannot list the drop-in directory: " + ec.message());
  std::sort(drop_ins.begin(), drop_ins.end());
  for (const auto& d : drop_ins) merge_config(cfg, read_config_file(d), d);
  finish_config(cfg);
  return cfg;
}

OptionValues validate_options(const InstanceConfig& inst, const ct_option_spec* specs,
                              uint32_t n_specs) {
  const std::string section =
      "[[" + std::string(inst.kind == CT_KIND_PROBE ? "probes." : "sinks.") + inst.plugin + "]]";
  const toml::table empty;
  const toml::table& t = inst.table ? *inst.table : empty;
  const std::span<const ct_option_spec> own(specs, n_specs);
  reject_unknown_keys(inst.where.file, t, section, own, core_options(inst.kind));
  return read_option_values(t, inst.where.file, own);
}

OptionValues read_option_values(const toml::table& t, const std::string& file,
                                std::span<const ct_option_spec> specs) {
  OptionValues out;
  for (const ct_option_spec& spec : specs) {
    auto storage = std::make_unique<OptionValues::Storage>();
    ct_option_value value{spec.key, spec.type, 0, nullptr, nullptr, 0};
    const toml::node* node = t.get(spec.key);
    const toml::key* key = nullptr;
    if (node) key = &t.find(spec.key)->first;
    switch (spec.type) {
      case CT_OPT_BOOL:
        value.int_value = node ? (get_bool(file, *key, *node) ? 1 : 0) : spec.int_default;
        break;
      case CT_OPT_INT:
        value.int_value =
            node ? get_int(file, *key, *node, spec.int_min, spec.int_max) : spec.int_default;
        break;
      case CT_OPT_STRING: {
        storage->string_value =
            node ? get_string(file, *key, *node) : (spec.string_default ? spec.string_default : "");
        if (node && spec.choices) {
          bool ok = false;
          std::string allowed;
          for (auto c = spec.choices; *c; ++c) {
            ok = ok || storage->string_value == *c;
            allowed += std::string(allowed.empty() ? "" : ", ") + "\"" + *c + "\"";
          }
          if (!ok) {
            fail(pos_of(file, node->source()), "'" + std::string(spec.key) + "' = \"" +
                                                   storage->string_value + "\" is not one of " +
                                                   allowed);
          }
        }
        break;
      }
      case CT_OPT_STRING_LIST:
        if (node) {
          storage->list = get_string_list(file, *key, *node);
        } else {
          for (auto d = spec.list_default; d && *d; ++d) storage->list.emplace_back(*d);
        }
        break;
      case CT_OPT_RANGE_MIN_:  // range markers, not types: validate_descriptor refuses them
      case CT_OPT_RANGE_MAX_:
        break;
    }
    for (const auto& s : storage->list) storage->list_ptrs.push_back(s.c_str());
    value.string_value = spec.type == CT_OPT_STRING ? storage->string_value.c_str() : nullptr;
    value.list_values = storage->list_ptrs.empty() ? nullptr : storage->list_ptrs.data();
    value.list_size = static_cast<uint32_t>(storage->list_ptrs.size());
    out.values_.push_back(value);
    out.storage_.push_back(std::move(storage));
  }
  return out;
}

void OptionValues::take(uint32_t i, OptionValues& other) {
  values_.at(i) = other.values_.at(i);
  storage_.at(i) = std::move(other.storage_.at(i));  // heap-held: value i's pointers stay valid
}

std::string OptionValues::describe() const {
  std::string s;
  for (const auto& v : values_) {
    if (!s.empty()) s += ", ";
    s += v.key;
    s += " = ";
    switch (v.type) {
      case CT_OPT_BOOL:
        s += v.int_value ? "true" : "false";
        break;
      case CT_OPT_INT:
        s += std::to_string(v.int_value);
        break;
      case CT_OPT_STRING:
        s += std::string("\"") + v.string_value + "\"";
        break;
      case CT_OPT_STRING_LIST: {
        s += "[";
        for (uint32_t i = 0; i < v.list_size; ++i) {
          s += std::string(i ? ", " : "") + "\"" + v.list_values[i] + "\"";
        }
        s += "]";
        break;
      }
      case CT_OPT_RANGE_MIN_:  // range markers, not types: validate_descriptor refuses them
      case CT_OPT_RANGE_MAX_:
        break;
    }
  }
  return s;
}

}  // namespace cellos::telemetry
