#include "vm_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cellos::telemetry::recv {
namespace {

// Enough to hold the last few lines: a line is at most about six times a 4 KiB body.
constexpr size_t kTailBytes = 64 * 1024;

std::runtime_error file_error(const std::string& path, const std::string& what) {
  return std::runtime_error(path + ": " + what + ": " + std::strerror(errno));
}

std::optional<uint64_t> number_after(std::string_view line, std::string_view key) {
  const size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t start = at + key.size();
  size_t end = start;
  uint64_t v = 0;
  while (end < line.size() && line[end] >= '0' && line[end] <= '9') {
    v = v * 10 + static_cast<uint64_t>(line[end++] - '0');
  }
  if (end == start) return std::nullopt;
  return v;
}

std::string read_tail(int fd, uint64_t size) {
  const uint64_t from = size > kTailBytes ? size - kTailBytes : 0;
  std::string tail(size - from, '\0');
  size_t got = 0;
  while (got < tail.size()) {
    const ssize_t n =
        pread(fd, tail.data() + got, tail.size() - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  tail.resize(got);
  return tail;
}

}  // namespace

std::optional<std::pair<uint64_t, uint64_t>> last_stream_seq(std::string_view text) {
  // From the last line back: text holds what is left before the line looked at.
  while (!text.empty()) {
    if (text.back() == '\n') text.remove_suffix(1);
    const size_t start = text.rfind('\n');
    const std::string_view line = start == std::string_view::npos ? text : text.substr(start + 1);
    const auto stream = number_after(line, "\"stream_id\":");
    const auto seq = number_after(line, ",\"seq\":");
    if (stream && seq) return std::make_pair(*stream, *seq);
    if (start == std::string_view::npos) break;
    text = text.substr(0, start + 1);
  }
  return std::nullopt;
}

VmFile::VmFile(const std::string& dir, const std::string& label, uint64_t rotate_bytes,
               unsigned keep)
    : path_(dir + "/" + label + ".jsonl"), rotate_bytes_(rotate_bytes), keep_(keep) {
  open_current();
  std::string tail = read_tail(fd_, size_);
  const size_t end = tail.rfind('\n');
  const size_t whole = end == std::string::npos ? 0 : end + 1;
  if (whole < tail.size()) {
    // A torn last line (see the header): cut it off before writing anything after it.
    repaired_ = tail.size() - whole;
    if (ftruncate(fd_, static_cast<off_t>(size_ - repaired_)) != 0) {
      throw file_error(path_, "removing a torn last line");
    }
    size_ -= repaired_;
    tail.resize(whole);
  }
  last_seq_ = last_stream_seq(tail);
  if (!last_seq_ && size_ == 0) {
    const int older = open((path_ + ".1").c_str(), O_RDONLY | O_CLOEXEC);
    if (older >= 0) {
      struct stat st {};
      if (fstat(older, &st) == 0) last_seq_ = last_stream_seq(read_tail(older, st.st_size));
      close(older);
    }
  }
}

VmFile::~VmFile() {
  if (fd_ >= 0) close(fd_);
}

void VmFile::open_current() {
  // Read and write: the tail is read back at open (a torn line, the last seq).
  fd_ = open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw file_error(path_, "cannot open");
  struct stat st {};
  if (fstat(fd_, &st) != 0) throw file_error(path_, "fstat");
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    throw file_error(path_, "not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
}

void VmFile::rotate() {
  close(fd_);
  fd_ = -1;
  if (keep_ == 0) {
    unlink(path_.c_str());
  } else {
    for (unsigned i = keep_ - 1; i >= 1; --i) {
      const std::string from = path_ + "." + std::to_string(i);
      if (rename(from.c_str(), (path_ + "." + std::to_string(i + 1)).c_str()) != 0 &&
          errno != ENOENT) {
        throw file_error(from, "rotating");
      }
    }
    if (rename(path_.c_str(), (path_ + ".1").c_str()) != 0) throw file_error(path_, "rotating");
  }
  open_current();
}

void VmFile::append(std::string_view lines) {
  if (lines.empty()) return;
  if (size_ > 0 && size_ + lines.size() > rotate_bytes_) rotate();
  size_t done = 0;
  while (done < lines.size()) {
    const ssize_t n = write(fd_, lines.data() + done, lines.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ENOSPC;
    const auto error = file_error(path_, "write");
    // No torn line: what was written of these lines goes (their frames were not consumed).
    [[maybe_unused]] const int ignored = ftruncate(fd_, static_cast<off_t>(size_));
    throw error;
  }
  size_ += lines.size();
}

}  // namespace cellos::telemetry::recv
