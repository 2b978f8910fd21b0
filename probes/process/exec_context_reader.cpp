#include "exec_context_reader.hpp"

#include <cellos/telemetry/plugin_abi.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "cmdline.hpp"
#include "proc_stat.hpp"
#include "status_ids.hpp"

namespace cellos::telemetry::process {
namespace {

// Reads up to size bytes of path below dir_fd in one read; bytes read, or -1 if it cannot be
// opened. One read, not a loop to end of file: the kernel's cmdline read copies page after
// page until the count is met or the arguments end, so a short read is the end, and asking
// again only to hear 0 cost one syscall per exec (issue 13).
long read_up_to(int dir_fd, const char* path, char* buf, size_t size) {
  const int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  ssize_t n;
  do {
    n = read(fd, buf, size);
  } while (n < 0 && errno == EINTR);
  close(fd);
  return n < 0 ? 0 : static_cast<long>(n);
}

bool read_link(int dir_fd, const char* name, std::string& out) {
  char path[PATH_MAX];
  const ssize_t n = readlinkat(dir_fd, name, path, sizeof path);
  if (n <= 0) return false;
  bounded_text(std::string_view(path, static_cast<size_t>(n)), CT_MAX_TEXT_BYTES, out);
  return true;
}

}  // namespace

ExecContextReader::ExecContextReader(size_t argv_max_bytes)
    : argv_max_bytes_(argv_max_bytes), buf_(std::max<size_t>(argv_max_bytes + 1, 1024)) {}

bool ExecContextReader::read(int pid_dir_fd, ExecContext& out, bool with_ids) {
  out.clear();
  const long n = read_up_to(pid_dir_fd, "cmdline", buf_.data(), argv_max_bytes_ + 1);
  if (n > 0) {
    split_cmdline(std::string_view(buf_.data(), static_cast<size_t>(n)), argv_max_bytes_, out);
    out.has_argv = true;
  }
  out.has_exe = read_link(pid_dir_fd, "exe", out.exe);
  out.has_cwd = read_link(pid_dir_fd, "cwd", out.cwd);
  if (with_ids) read_ids(pid_dir_fd, out);
  // A live process always has an executable (a kernel thread has none, but never execs).
  return out.has_exe && (out.has_ids || !with_ids);
}

bool ExecContextReader::read_ids(int pid_dir_fd, ExecContext& out) {
  const long s = read_small_file(pid_dir_fd, "status", buf_.data(), buf_.size());
  if (s <= 0) return false;
  const std::string_view status(buf_.data(), static_cast<size_t>(s));
  if (auto ids = parse_status_ids(status)) {
    out.ids = *ids;
    out.has_ids = true;
  }
  if (auto name = parse_status_name(status)) {
    out.name = std::move(*name);
    out.has_name = true;
  }
  return out.has_ids;
}

}  // namespace cellos::telemetry::process
