#include "option_table.hpp"

#include <vector>

#include "core_options.hpp"

namespace cellos::telemetry {
namespace {

const char* type_label(ct_option_type t) {
  switch (t) {
    case CT_OPT_BOOL:
      return "bool";
    case CT_OPT_INT:
      return "int";
    case CT_OPT_STRING:
      return "string";
    case CT_OPT_STRING_LIST:
      return "string list";
    case CT_OPT_RANGE_MIN_:  // range markers, not types: validate_descriptor refuses them
    case CT_OPT_RANGE_MAX_:
      break;
  }
  return "?";
}

std::string quoted_list(const char* const* items, const char* sep) {
  std::string s;
  for (auto p = items; p && *p; ++p) s += std::string(s.empty() ? "" : sep) + "\"" + *p + "\"";
  return s;
}

std::string default_of(const ct_option_spec& o) {
  switch (o.type) {
    case CT_OPT_BOOL:
      return o.int_default ? "true" : "false";
    case CT_OPT_INT:
      return std::to_string(o.int_default);
    case CT_OPT_STRING:
      return std::string("\"") + (o.string_default ? o.string_default : "") + "\"";
    case CT_OPT_STRING_LIST:
      return "[" + quoted_list(o.list_default, ", ") + "]";
    case CT_OPT_RANGE_MIN_:  // range markers, not types: validate_descriptor refuses them
    case CT_OPT_RANGE_MAX_:
      break;
  }
  return "";
}

std::string allowed_of(const ct_option_spec& o) {
  if (o.type == CT_OPT_INT) {
    return std::to_string(o.int_min) + " to " + std::to_string(o.int_max);
  }
  if (o.type == CT_OPT_STRING && o.choices) return quoted_list(o.choices, ", ");
  return "";
}

std::vector<ct_option_spec> all_options(const ct_plugin& p) {
  std::vector<ct_option_spec> v(p.options, p.options + p.n_options);
  const auto core = core_options(p.kind);
  v.insert(v.end(), core.begin(), core.end());
  return v;
}

}  // namespace

std::string options_as_text(std::span<const ct_option_spec> options) {
  std::string out;
  for (const ct_option_spec& o : options) {
    out += std::string("    ") + o.key + " (" + type_label(o.type) + ", default " + default_of(o);
    // "; " and a label set the allowed values apart from the default: after a comma, a list of
    // choices read as more defaults.
    const std::string allowed = allowed_of(o);
    if (!allowed.empty()) out += (o.type == CT_OPT_STRING ? "; one of " : "; ") + allowed;
    out += ")\n        " + std::string(o.description ? o.description : "") + "\n";
  }
  return out;
}

std::string options_as_markdown(std::span<const ct_option_spec> options) {
  std::string out = "| key | type | default | allowed | description |\n|---|---|---|---|---|\n";
  for (const ct_option_spec& o : options) {
    out += std::string("| `") + o.key + "` | " + type_label(o.type) + " | `" + default_of(o) +
           "` | " + allowed_of(o) + " | " + (o.description ? o.description : "") + " |\n";
  }
  return out;
}

std::string options_as_text(const ct_plugin& p) {
  return options_as_text(all_options(p));
}

std::string options_as_markdown(const ct_plugin& p) {
  return options_as_markdown(all_options(p));
}

}  // namespace cellos::telemetry
