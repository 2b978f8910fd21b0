#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <span>
#include <string>

namespace cellos::telemetry {

// The option table of a plugin as plain text for --help, and as Markdown for its README; both
// from the declared ct_option_spec table, so docs cannot drift from the code.
// The keys the core itself reads from every instance table of that kind (enabled; for sinks
// also match and queue_capacity), declared like a plugin's. No plugin may declare them again.
std::span<const ct_option_spec> core_options(ct_kind kind);

std::string options_as_text(const ct_plugin& plugin);
std::string options_as_markdown(const ct_plugin& plugin);

}  // namespace cellos::telemetry
