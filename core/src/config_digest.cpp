#include "config_digest.hpp"

#include <cellos/telemetry/text.hpp>

#include "sha256.hpp"

namespace cellos::telemetry {
namespace {

void append_value(std::string& out, const ct_option_value& v) {
  switch (v.type) {
    case CT_OPT_BOOL:
      out += v.int_value ? "true" : "false";
      break;
    case CT_OPT_INT:
      out += std::to_string(v.int_value);
      break;
    case CT_OPT_STRING:
      append_json_string(out, v.string_value ? v.string_value : "");
      break;
    case CT_OPT_STRING_LIST:
      out += '[';
      for (uint32_t i = 0; i < v.list_size; ++i) {
        if (i > 0) out += ',';
        append_json_string(out, v.list_values[i]);
      }
      out += ']';
      break;
    case CT_OPT_RANGE_MIN_:  // range markers, not types: validate_descriptor refuses them
    case CT_OPT_RANGE_MAX_:
      out += "null";
      break;
  }
}

void append_values(std::string& out, const std::string& section, const OptionValues& values) {
  for (uint32_t i = 0; i < values.size(); ++i) {
    const ct_option_value& v = values.data()[i];
    out += section + " " + v.key + " ";
    append_value(out, v);
    out += '\n';
  }
}

}  // namespace

std::string canonical_config(const OptionValues& agent,
                             const std::vector<DigestedInstance>& instances) {
  std::string out = "cellos-telemetry-config 1\n";
  append_values(out, "agent", agent);
  for (const DigestedInstance& inst : instances) {
    const std::string name = inst.config->display_name();
    append_values(out, name, *inst.options);
    if (inst.config->kind != CT_KIND_SINK) continue;
    out += name + " match [";
    for (size_t i = 0; i < inst.config->match.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, inst.config->match[i]);
    }
    out += "]\n" + name + " queue_capacity " + std::to_string(inst.config->queue_capacity) + "\n";
  }
  return out;
}

std::string config_digest(const OptionValues& agent,
                          const std::vector<DigestedInstance>& instances) {
  return sha256_hex(canonical_config(agent, instances));
}

}  // namespace cellos::telemetry
