#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <span>

namespace cellos::telemetry {

// The core's own options, declared with the same ct_option_spec a plugin uses, so that the same
// code validates them (config.cpp: unknown key, wrong type, out of range, FILE:LINE:COL) and
// the same code prints them for --help, the man page and the README (option_table.hpp). These
// tables are the only place their keys, types, ranges and defaults are written.

// The [agent] table.
std::span<const ct_option_spec> agent_options();

// The keys the core itself reads from every instance table of that kind: enabled; for sinks also
// match, queue_capacity and queue_bytes. No plugin may declare them again (descriptor_check.cpp).
std::span<const ct_option_spec> core_options(ct_kind kind);

}  // namespace cellos::telemetry
