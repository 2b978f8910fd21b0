// The first line of a small kernel file (/proc/self/comm, /sys/.../cpu/possible, boot_id), read
// with read(2). Not through <fstream>: with the static runtime a plugin or the agent that uses
// it links the whole locale machinery (about 0.25 MiB each), for one line.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "unique_fd.hpp"

namespace cellos::telemetry {

// Without its newline; empty when the file cannot be read. At most 255 bytes.
inline std::string first_line(const char* path) {
  const UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buf[256];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return {};
  std::string line(buf, static_cast<size_t>(n));
  if (const size_t nl = line.find('\n'); nl != std::string::npos) line.resize(nl);
  return line;
}

}  // namespace cellos::telemetry
