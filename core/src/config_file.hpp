// Reading one configuration file (the base file or a drop-in) whole, safely.
//
// A config path is operator input that may name anything: a FIFO (opening it for reading
// blocks until a writer comes, forever at boot), a device (/dev/zero never ends), a directory,
// a file being written, a huge file. So only a regular file is read, it is checked before it is
// opened and again on the descriptor (the path may change in between), it is opened with
// O_NONBLOCK so that even a FIFO swapped in at that moment cannot block, and at most
// kMaxConfigFileBytes are read. Every refusal and every read error is a ConfigError naming the
// file (exit 78); nothing is ever taken as an empty file.
#pragma once

#include <cstddef>
#include <string>

namespace cellos::telemetry {

// 1 MiB: a generous config is a few KiB. Documented in README.md (Configuration).
inline constexpr size_t kMaxConfigFileBytes = 1024 * 1024;

// The file's whole content. Throws ConfigError: "PATH: not a regular file (a FIFO); ...",
// "PATH: N bytes, over the 1 MiB ... limit ...", "PATH: cannot read the configuration file: ERR".
std::string read_config_file(const std::string& path);

}  // namespace cellos::telemetry
