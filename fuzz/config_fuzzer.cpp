// TOML text to a validated configuration: anything may be rejected with a ConfigError, nothing
// may crash, hang or throw anything else.
#include <cellos/telemetry/sdk.hpp>

#include <string>

#include "config.hpp"

namespace ct = cellos::telemetry;

namespace {

constexpr const char* kModes[] = {"a", "b", nullptr};
constexpr const char* kList[] = {"*", nullptr};
constexpr ct_option_spec kSpecs[] = {
    ct::int_option("interval_ms", "", 100, 1, 60000), ct::bool_option("emit_initial", "", false),
    ct::string_option("method", "", "a", kModes),     ct::string_option("address", "", "x"),
    ct::string_list_option("names", "", kList),
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cfg = ct::parse_config(text, "fuzz.toml");
    for (const auto* list : {&cfg.probes, &cfg.sinks}) {
      for (const auto& inst : *list) {
        const auto values = ct::validate_options(inst, kSpecs, 5);
        (void)values.describe();
      }
    }
  } catch (const ct::ConfigError&) {
  }
  return 0;
}
