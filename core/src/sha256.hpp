// SHA-256 (FIPS 180-4), for the configuration digest an agent announces (config_digest.hpp).
// Written here rather than linked: the agent needs one digest of a few KiB once at start, and
// libcrypto would be a new dependency of a guest image that has none. Not for secrets: nothing
// here is constant-time, and nothing needs to be.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cellos::telemetry {

std::array<uint8_t, 32> sha256(std::string_view data);
// The digest as 64 lower-case hex digits, as sha256sum prints it.
std::string sha256_hex(std::string_view data);

}  // namespace cellos::telemetry
