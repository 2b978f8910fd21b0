#include "descriptor_check.hpp"

#include <cstddef>
#include <set>
#include <string_view>

#include "config.hpp"
#include "core_options.hpp"
#include "event_names.hpp"

namespace cellos::telemetry {
namespace {

// The fields a descriptor of ABI x.0 must have, up to and including emits.
constexpr size_t kMinDescriptorSize = offsetof(ct_plugin, emits) + sizeof(ct_plugin::emits);

// Bounds on what the agent walks: an option table, or a NULL-terminated array of strings, longer
// than this is a mistake (a missing terminator), not a plugin's real declaration.
constexpr size_t kMaxEntries = 256;
constexpr size_t kMaxIdentifier = 64;

// Keys and names go into TOML tables, file names and messages: [a-z_][a-z0-9_]*.
bool is_identifier(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdentifier || (s[0] >= '0' && s[0] <= '9')) return false;
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

const char* const kIdentifierRule =
    " is not a plain identifier ([a-z_][a-z0-9_]*, at most 64 "
    "characters)";

class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw ConfigError(path_ + ": invalid descriptor: " + what);
  }
  void present(const void* p, const std::string& field) const {
    if (p == nullptr) fail(field + " is missing");
  }

  // The entries of a NULL-terminated array of strings, walked no further than kMaxEntries.
  std::vector<std::string_view> strings(const char* const* a, const std::string& where,
                                        const char* field) const {
    std::vector<std::string_view> out;
    for (size_t i = 0; a != nullptr && a[i] != nullptr; ++i) {
      if (i == kMaxEntries) {
        fail((where.empty() ? "" : where + ": ") + field + " has no NULL terminator within " +
             std::to_string(kMaxEntries) + " entries");
      }
      out.emplace_back(a[i]);
    }
    return out;
  }

  void option(const ct_option_spec& o, const std::string& where) const {
    switch (o.type) {
      case CT_OPT_BOOL:
        if (o.int_default != 0 && o.int_default != 1) {
          fail(where + ": int_default " + std::to_string(o.int_default) +
               " is not 0 or 1 (a bool's default)");
        }
        break;
      case CT_OPT_INT:
        if (o.int_min > o.int_max) {
          fail(where + ": int_min " + std::to_string(o.int_min) + " is greater than int_max " +
               std::to_string(o.int_max));
        }
        if (o.int_default < o.int_min || o.int_default > o.int_max) {
          fail(where + ": int_default " + std::to_string(o.int_default) + " is outside its range " +
               std::to_string(o.int_min) + " to " + std::to_string(o.int_max));
        }
        break;
      case CT_OPT_STRING: {
        if (o.string_default == nullptr)
          fail(where + ": string_default is missing (\"\" for none)");
        if (o.choices == nullptr) break;
        const auto choices = strings(o.choices, where, "choices");
        if (choices.empty()) fail(where + ": choices is empty (NULL allows any string)");
        std::string listed;
        bool found = false;
        for (const auto c : choices) {
          listed += std::string(listed.empty() ? "" : ", ") + "\"" + std::string(c) + "\"";
          found = found || c == o.string_default;
        }
        if (!found) {
          fail(where + ": string_default '" + o.string_default + "' is not among its choices (" +
               listed + ")");
        }
        break;
      }
      case CT_OPT_STRING_LIST:
        strings(o.list_default, where, "list_default");
        break;
      default:
        fail(where + ": type " + std::to_string(static_cast<int>(o.type)) +
             " is not a known option type");
    }
  }

  // A probe's declared event names: at least one, each a name or PREFIX.*, none the core's,
  // none repeated. A sink emits nothing, so it declares nothing.
  void emits(const ct_plugin& d) const {
    const auto names = strings(d.emits, "", "emits");
    if (d.kind == CT_KIND_SINK) {
      if (!names.empty()) fail("emits is not empty (a sink emits no events; leave it NULL)");
      return;
    }
    if (names.empty()) {
      fail(std::string("emits is ") + (d.emits == nullptr ? "missing" : "empty") +
           " (a probe declares the probe_source names it emits)");
    }
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string at = "emits[" + std::to_string(i) + "] '" + std::string(names[i]) + "'";
      if (!is_emits_entry(names[i])) {
        fail(at +
             " is neither an event name (word.word: [a-z0-9_] words, at most 63 bytes) nor "
             "a pattern (word.*)");
      }
      if (is_core_owned(names[i])) fail(at + " belongs to the core (agent.* and telemetry.*)");
      for (size_t j = 0; j < i; ++j) {
        if (names[j] == names[i]) {
          fail(at + " is declared twice (also emits[" + std::to_string(j) + "])");
        }
      }
    }
  }

 private:
  const std::string& path_;
};

}  // namespace

void validate_descriptor(const ct_plugin& d, const std::string& path) {
  const Checker check(path);
  if (d.struct_size < kMinDescriptorSize) {
    check.fail("struct_size " + std::to_string(d.struct_size) + " is smaller than the " +
               std::to_string(kMinDescriptorSize) + " bytes of an ABI " +
               std::to_string(CT_ABI_MAJOR) + ".0 descriptor");
  }
  if (d.kind != CT_KIND_PROBE && d.kind != CT_KIND_SINK) {
    check.fail("kind " + std::to_string(static_cast<int>(d.kind)) +
               " is neither probe (1) nor sink (2)");
  }
  check.present(d.name, "name");
  if (!is_identifier(d.name)) check.fail(std::string("name '") + d.name + "'" + kIdentifierRule);
  check.present(d.version, "version");
  check.present(d.summary, "summary");
  check.present(reinterpret_cast<const void*>(d.create), "create");
  check.present(reinterpret_cast<const void*>(d.destroy), "destroy");
  if (d.kind == CT_KIND_SINK && d.consume == nullptr) {
    check.fail("consume is missing (every sink needs it)");
  }
  if (d.n_options > 0 && d.options == nullptr) {
    check.fail("options is missing (n_options is " + std::to_string(d.n_options) + ")");
  }
  if (d.n_options > kMaxEntries) {
    check.fail("n_options " + std::to_string(d.n_options) + " is more than " +
               std::to_string(kMaxEntries));
  }

  const auto core = core_options(d.kind);
  const char* const kind = d.kind == CT_KIND_PROBE ? "probe" : "sink";
  for (uint32_t i = 0; i < d.n_options; ++i) {
    const ct_option_spec& o = d.options[i];
    const std::string at = "options[" + std::to_string(i) + "]";
    if (o.key == nullptr) {
      check.fail(at +
                 ": key is missing (an empty {} entry ending the table? n_options counts every "
                 "entry, so the table needs no terminator)");
    }
    if (!is_identifier(o.key)) check.fail(at + ": key '" + o.key + "'" + kIdentifierRule);
    const std::string where = at + " '" + o.key + "'";
    for (uint32_t j = 0; j < i; ++j) {
      if (std::string_view(d.options[j].key) == o.key) {
        check.fail(where + ": key is declared twice (also options[" + std::to_string(j) + "])");
      }
    }
    for (const ct_option_spec& c : core) {
      if (std::string_view(c.key) == o.key) {
        check.fail(where + ": key belongs to the core (it reads it from every " + kind +
                   " instance)");
      }
    }
    check.present(o.description, where + ": description");
    check.option(o, where);
  }
  check.emits(d);
}

}  // namespace cellos::telemetry
