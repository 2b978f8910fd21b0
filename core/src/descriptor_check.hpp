#pragma once

#include <cellos/telemetry/plugin_abi.h>

#include <string>

namespace cellos::telemetry {

// Checks every declaration of a descriptor whose ABI version the loader has accepted, before
// anything reads it. Throws ConfigError "PATH: invalid descriptor: WHERE: FIELD problem".
void validate_descriptor(const ct_plugin& d, const std::string& path);

}  // namespace cellos::telemetry
