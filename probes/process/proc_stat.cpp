#include "proc_stat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

namespace cellos::telemetry::process {

std::optional<StatFields> parse_stat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  StatFields f;
  f.comm = text.substr(open + 1, close - open - 1);
  // Fields after ") " start with field 3 (state); field 22 is the 20th of them.
  if (close + 2 < text.size()) f.state = text[close + 2];
  size_t pos = close + 1;
  for (int field = 3; field < 22; ++field) {
    pos = text.find(' ', pos + 1);
    if (pos == std::string_view::npos) return std::nullopt;
    if (field == 3) {  // pos is now the space after field 3, before field 4
      const char* p = text.data() + pos + 1;
      std::from_chars(p, text.data() + text.size(), f.ppid);
    }
  }
  const char* first = text.data() + pos + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, f.start_time);
  if (ec != std::errc() || end == first) return std::nullopt;
  if (end != last && *end != ' ' && *end != '\n') return std::nullopt;
  return f;
}

std::string_view strip_newline(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return text;
}

std::string_view wire_comm(std::string_view comm) {
  constexpr size_t kMax = CT_COMM_MAX_BYTES;
  if (comm.size() <= kMax) return comm;
  size_t n = kMax;
  while (n > 0 && (static_cast<unsigned char>(comm[n]) & 0xC0) == 0x80) --n;
  return comm.substr(0, n);
}

long read_small_file(int dir_fd, const char* path, char* buf, size_t size) {
  const int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return -1;
  ssize_t n;
  do {
    n = read(fd, buf, size - 1);
  } while (n < 0 && errno == EINTR);
  close(fd);
  if (n < 0) return -1;
  buf[n] = '\0';
  return n;
}

namespace {

long read_pid_file(int dir_fd, uint32_t pid, const char* name, char* buf, size_t size) {
  char path[32];
  std::snprintf(path, sizeof path, "%u/%s", pid, name);
  return read_small_file(dir_fd, path, buf, size);
}

std::optional<ProcessStat> stat_of(const char* buf, long n) {
  if (n <= 0) return std::nullopt;
  const auto f = parse_stat(std::string_view(buf, static_cast<size_t>(n)));
  if (!f) return std::nullopt;
  return ProcessStat{std::string(f->comm), f->state, f->ppid, f->start_time};
}

}  // namespace

std::optional<ProcessStat> read_process_stat(int dir_fd, uint32_t pid) {
  char buf[1024];
  return stat_of(buf, read_pid_file(dir_fd, pid, "stat", buf, sizeof buf));
}

UniqueFd open_pid_dir(int proc_fd, uint32_t pid) {
  char path[16];
  std::snprintf(path, sizeof path, "%u", pid);
  return UniqueFd(openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

std::optional<ProcessStat> read_stat_at(int pid_dir_fd) {
  char buf[1024];
  return stat_of(buf, read_small_file(pid_dir_fd, "stat", buf, sizeof buf));
}

std::optional<std::string> read_process_comm(int dir_fd, uint32_t pid) {
  char buf[128];
  const long n = read_pid_file(dir_fd, pid, "comm", buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(strip_newline(std::string_view(buf, static_cast<size_t>(n))));
}

std::optional<std::string> read_comm_at(int pid_dir_fd) {
  char buf[128];
  const long n = read_small_file(pid_dir_fd, "comm", buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(strip_newline(std::string_view(buf, static_cast<size_t>(n))));
}

}  // namespace cellos::telemetry::process
