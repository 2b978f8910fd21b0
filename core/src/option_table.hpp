#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <string>

namespace cellos::telemetry {

// The option table of a plugin as plain text for --help, and as Markdown for its README; both
// from the declared ct_option_spec table, so docs cannot drift from the code.
std::string options_as_text(const ct_plugin& plugin);
std::string options_as_markdown(const ct_plugin& plugin);

}  // namespace cellos::telemetry
