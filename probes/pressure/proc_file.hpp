// A procfs file opened once and re-read in place: each read() is one pread at offset 0 into a
// buffer kept for the file's life, so a periodic sample costs one system call and allocates
// nothing. procfs regenerates the text on every read from offset 0 (seq_file), so the figures
// are always current. Only the first kBufferBytes are read: every figure this probe wants is on
// the first lines (/proc/stat's long "intr" line comes after its "cpu" lines).
#pragma once

#include <cellos/telemetry/unique_fd.hpp>

#include <array>
#include <string>
#include <string_view>

namespace cellos::telemetry::pressure {

class ProcFile {
 public:
  static constexpr size_t kBufferBytes = 4096;

  // Opens path read-only; throws std::system_error naming the path when it cannot.
  explicit ProcFile(std::string path);
  // Wraps an fd already open on path (a PSI trigger's, opened read-write).
  ProcFile(std::string path, UniqueFd fd);

  // The file's current text (at most kBufferBytes), valid until the next read(). Throws
  // std::system_error naming the path when the read fails.
  std::string_view read();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
  std::array<char, kBufferBytes> buffer_{};
};

}  // namespace cellos::telemetry::pressure
