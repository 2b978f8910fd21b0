#include "stream_identity.hpp"

#include <cellos/telemetry/first_line.hpp>

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cellos::telemetry {

uint64_t draw_stream_id() {
  uint64_t id = 0;
  while (id == 0) {
    const ssize_t n = getrandom(&id, sizeof id, 0);
    if (n == static_cast<ssize_t>(sizeof id)) continue;
    if (n < 0 && errno == EINTR) continue;
    throw std::system_error(n < 0 ? errno : EIO, std::generic_category(), "getrandom");
  }
  return id;
}

std::string read_boot_id(const char* path) {
  return first_line(path);
}

StreamIdentity::StreamIdentity(uint64_t stream_id, std::string boot_id, std::string agent_version)
    : current_(stream_id), boot_id_(std::move(boot_id)), agent_version_(std::move(agent_version)) {
  info_.struct_size = sizeof info_;
  info_.stream_id = stream_id;
  info_.boot_id = boot_id_.c_str();
  info_.agent_version = agent_version_.c_str();
  info_.config_digest = config_digest_.c_str();
}

void StreamIdentity::set_config_digest(std::string digest) {
  config_digest_ = std::move(digest);
  info_.config_digest = config_digest_.c_str();
}

}  // namespace cellos::telemetry
