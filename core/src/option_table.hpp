#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <span>
#include <string>

namespace cellos::telemetry {

// A declared option table as plain text for --help (and so the man page), and as Markdown for a
// README; both from the ct_option_spec table, so docs cannot drift from the code.
std::string options_as_text(std::span<const ct_option_spec> options);
std::string options_as_markdown(std::span<const ct_option_spec> options);

// A plugin's own options followed by the core's keys for its kind (core_options): every key its
// instance tables may hold.
std::string options_as_text(const ct_plugin& plugin);
std::string options_as_markdown(const ct_plugin& plugin);

}  // namespace cellos::telemetry
