#include "trusted_open.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <deque>

#include "config.hpp"

namespace cellos::telemetry {
namespace {

// As the kernel's MAXSYMLINKS: a longer chain is a loop.
constexpr int kMaxLinks = 40;

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw ConfigError(path + ": " + reason);
}

std::string errno_text() {
  return std::strerror(errno);
}

std::deque<std::string> split(const std::string& path) {
  std::deque<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    const size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin) parts.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

std::string read_link(int dirfd, const char* name) {
  char buf[PATH_MAX];
  const ssize_t n = readlinkat(dirfd, name, buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return "";
  return std::string(buf, static_cast<size_t>(n));
}

class Checker {
 public:
  explicit Checker(const std::string& path) : path_(path), me_(geteuid()) {}

  // Where an open descriptor is, for messages and the real-path walk.
  std::string name_of(int fd) const {
    const std::string name = read_link(AT_FDCWD, proc_fd_path(fd).c_str());
    if (name.empty())
      fail(path_, "cannot check where it is: " + proc_fd_path(fd) + ": " + errno_text() +
                      " (is /proc mounted?)");
    return name;
  }

  struct stat stat_of(int fd) const {
    struct stat st {};
    if (fstat(fd, &st) != 0) fail(path_, "cannot check: " + errno_text());
    return st;
  }

  void owner(const struct stat& st, const std::string& what) const {
    if (st.st_uid != 0 && st.st_uid != me_) {
      fail(path_, "untrusted plugin: " + what + " is owned by uid " + std::to_string(st.st_uid) +
                      ", neither root nor the agent's uid " + std::to_string(me_));
    }
  }

  // Owner, then write bits; a sticky directory may be writable by others (see the header).
  void object(const struct stat& st, const std::string& what, bool is_dir) const {
    owner(st, what);
    if (is_dir && (st.st_mode & S_ISVTX) != 0) return;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    if ((st.st_mode & S_IWOTH) != 0) {
      fail(path_, "untrusted plugin: " + what + " is writable by everyone (mode " + mode + ")");
    }
    if ((st.st_mode & S_IWGRP) != 0) {
      fail(path_, "untrusted plugin: " + what + " is writable by group " +
                      std::to_string(st.st_gid) + " (mode " + mode + ")");
    }
  }

  void directory(int fd) const { object(stat_of(fd), "its directory " + name_of(fd), true); }

  // Every directory of a real (link-free) path, from its parent up to /.
  void real_parents(const std::string& real) const {
    std::string p = real;
    while (p != "/") {
      const size_t slash = p.rfind('/');
      p = slash == 0 ? "/" : p.substr(0, slash);
      struct stat st {};
      if (lstat(p.c_str(), &st) != 0) fail(path_, "cannot check " + p + ": " + errno_text());
      object(st, "its directory " + p, true);
    }
  }

 private:
  const std::string& path_;
  const uid_t me_;
};

// The resolution by hand: returns an O_PATH descriptor of what path names, every step checked.
UniqueFd resolve(const std::string& path, const Checker& check) {
  const auto open_root = [&] {
    UniqueFd fd(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) fail(path, "cannot open /: " + errno_text());
    check.directory(fd.get());
    return fd;
  };
  UniqueFd cur;
  if (path.starts_with('/')) {
    cur = open_root();
  } else {
    cur = UniqueFd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!cur) fail(path, "cannot open the current directory: " + errno_text());
    check.directory(cur.get());
  }
  std::deque<std::string> parts = split(path);
  int links = 0;
  while (!parts.empty()) {
    const std::string name = parts.front();
    parts.pop_front();
    if (name == ".") continue;
    UniqueFd next(openat(cur.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!next) fail(path, "cannot open: " + errno_text());
    const struct stat st = check.stat_of(next.get());
    if (S_ISLNK(st.st_mode)) {
      // The link's directory (cur) is checked: only root or we could have put it there.
      if (++links > kMaxLinks) fail(path, "cannot open: too many levels of symbolic links");
      const std::string dir = check.name_of(cur.get());
      check.owner(st, "the symbolic link " + (dir == "/" ? "" : dir) + "/" + name);
      const std::string target = read_link(next.get(), "");
      if (target.empty()) fail(path, "cannot read the symbolic link " + name + ": " + errno_text());
      const auto more = split(target);
      parts.insert(parts.begin(), more.begin(), more.end());
      if (target.starts_with('/')) cur = open_root();
      continue;
    }
    if (S_ISDIR(st.st_mode)) check.directory(next.get());
    // Anything else that is not the last part makes the next openat fail with ENOTDIR.
    cur = std::move(next);
  }
  return cur;
}

}  // namespace

std::string proc_fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

UniqueFd open_plugin_file(const std::string& path, bool check_trust) {
  const Checker check(path);
  UniqueFd file;
  if (check_trust) {
    const UniqueFd where = resolve(path, check);
    if (!S_ISREG(check.stat_of(where.get()).st_mode)) fail(path, "not a regular file");
    // Reopening the O_PATH descriptor opens the very file resolved, never a name again.
    file = UniqueFd(open(proc_fd_path(where.get()).c_str(), O_RDONLY | O_CLOEXEC));
  } else {
    file = UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  }
  if (!file) fail(path, "cannot open: " + errno_text());
  const struct stat st = check.stat_of(file.get());
  if (!S_ISREG(st.st_mode)) fail(path, "not a regular file");
  if (check_trust) {
    check.object(st, "the file", false);
    check.real_parents(check.name_of(file.get()));
  }
  return file;
}

}  // namespace cellos::telemetry
