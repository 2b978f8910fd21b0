#include "log.hpp"

#include <cellos/telemetry/plugin_abi.h>
#include <unistd.h>

#include <mutex>

#include "console_writer.hpp"

namespace cellos::telemetry {
namespace {

constexpr const char* kPrefix = "cellos-telemetry: ";

// Opened on first use, so that it writes to whatever fd 2 is once main has set it up. Its
// destructor, at exit, makes the last non-blocking attempt to write what is left.
struct Log {
  std::mutex mutex;
  ConsoleWriter writer{STDERR_FILENO, std::string(kPrefix) + "warning: "};
  ~Log() { writer.flush(); }
};

Log& the_log() {
  static Log log;
  return log;
}

}  // namespace

void log_line(int level, const std::string& message) {
  const char* tag = level == CT_LOG_ERROR ? "error" : level == CT_LOG_WARN ? "warning" : "info";
  Log& log = the_log();
  std::lock_guard lock(log.mutex);
  log.writer.write_line(std::string(kPrefix) + tag + ": " + message);
}

int log_pending_fd() {
  Log& log = the_log();
  std::lock_guard lock(log.mutex);
  return log.writer.pending_fd();
}

void log_flush() {
  Log& log = the_log();
  std::lock_guard lock(log.mutex);
  log.writer.flush();
}

}  // namespace cellos::telemetry
