#include "dir_watch.hpp"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "vm_label.hpp"

namespace cellos::telemetry::recv {

DirWatch::DirWatch(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("--watch " + dir_ + ": inotify: " + std::strerror(errno));
  if (inotify_add_watch(fd_, dir_.c_str(),
                        IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                            IN_MOVE_SELF | IN_ONLYDIR) < 0) {
    const std::string why = std::strerror(errno);
    close(fd_);
    throw std::runtime_error("--watch " + dir_ + ": " + why);
  }
}

DirWatch::~DirWatch() {
  if (fd_ >= 0) close(fd_);
}

bool DirWatch::vm_socket(const std::string& name) const {
  if (has_port_suffix(name)) return false;
  struct stat st {};
  return lstat((dir_ + "/" + name).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

std::vector<std::string> DirWatch::list() const {
  std::vector<std::string> names;
  const std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir_.c_str()), closedir);
  if (!d) return names;
  while (const dirent* e = readdir(d.get())) {
    const std::string name = e->d_name;
    if (name != "." && name != ".." && vm_socket(name)) names.push_back(name);
  }
  return names;
}

std::vector<DirWatch::Change> DirWatch::changes() {
  std::vector<Change> out;
  alignas(inotify_event) char buf[8192];
  while (true) {
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
      const std::string name = e->len ? e->name : "";
      if (e->mask & IN_Q_OVERFLOW) {
        out.push_back({Change::kRescan, ""});
      } else if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        out.push_back({Change::kDirGone, ""});
      } else if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
        if (vm_socket(name)) out.push_back({Change::kAppeared, name});
      } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
        if (!has_port_suffix(name)) out.push_back({Change::kGone, name});
      }
    }
  }
  return out;
}

}  // namespace cellos::telemetry::recv
