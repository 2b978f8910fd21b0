#include "log.hpp"

#include <cellos/telemetry/plugin_abi.h>
#include <unistd.h>

namespace cellos::telemetry {

void log_line(int level, const std::string& message) {
  const char* tag = level == CT_LOG_ERROR ? "error" : level == CT_LOG_WARN ? "warning" : "info";
  const std::string line = std::string("cellos-telemetry: ") + tag + ": " + message + "\n";
  [[maybe_unused]] const ssize_t r = write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace cellos::telemetry
