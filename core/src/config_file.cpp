#include "config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config.hpp"

namespace cellos::telemetry {
namespace {

const char* file_type_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

[[noreturn]] void cannot_read(const std::string& path, int err) {
  throw ConfigError(path + ": cannot read the configuration file: " + std::strerror(err));
}

// Refuses anything but a regular file of at most the cap, by what stat says it is.
void check_kind_and_size(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) {
    throw ConfigError(path + ": not a regular file (" + file_type_name(st.st_mode) +
                      "); only regular files are read as configuration");
  }
  if (static_cast<unsigned long long>(st.st_size) > kMaxConfigFileBytes) {
    throw ConfigError(path + ": " + std::to_string(st.st_size) + " bytes, over the 1 MiB (" +
                      std::to_string(kMaxConfigFileBytes) +
                      " bytes) limit for a configuration file");
  }
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string read_config_file(const std::string& path) {
  // Before opening: a FIFO or a device is refused without ever being opened.
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) cannot_read(path, errno);
  check_kind_and_size(path, st);
  // O_NONBLOCK: should the path have become a FIFO since, opening it still returns at once.
  const FileDescriptor fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) cannot_read(path, errno);
  if (fstat(fd.get(), &st) != 0) cannot_read(path, errno);
  check_kind_and_size(path, st);
  // st_size is not the whole truth (procfs says 0, a file may grow while read): the cap is on
  // what is read. One byte more than the cap tells a file over it.
  std::string text;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) cannot_read(path, errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {
      throw ConfigError(path + ": more than the 1 MiB (" + std::to_string(kMaxConfigFileBytes) +
                        " bytes) limit for a configuration file");
    }
  }
  return text;
}

}  // namespace cellos::telemetry
