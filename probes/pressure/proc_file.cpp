#include "proc_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace cellos::telemetry::pressure {

ProcFile::ProcFile(std::string path) : path_(std::move(path)) {
  fd_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd_) throw std::system_error(errno, std::generic_category(), "opening " + path_);
}

ProcFile::ProcFile(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

std::string_view ProcFile::read() {
  ssize_t n;
  do {
    n = ::pread(fd_.get(), buffer_.data(), buffer_.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw std::system_error(errno, std::generic_category(), "reading " + path_);
  return {buffer_.data(), static_cast<size_t>(n)};
}

}  // namespace cellos::telemetry::pressure
