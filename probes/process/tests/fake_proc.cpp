#include "fake_proc.hpp"

#include <filesystem>
#include <fstream>

namespace cellos::telemetry::process::testing {

namespace fs = std::filesystem;

std::string FakeProc::stat_line(uint32_t pid, const std::string& comm, uint64_t start_time) {
  // Fields 3..21 as a real line has them, then the start time (22), then the rest.
  return std::to_string(pid) + " (" + comm + ") S 1 " + std::to_string(pid) + " " +
         std::to_string(pid) + " 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 " +
         std::to_string(start_time) +
         " 10000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 "
         "0 0 17 1 0 0 0 0 0\n";
}

void FakeProc::fill(const std::string& dir, uint32_t pid, const std::string& comm,
                    uint64_t start_time) {
  std::ofstream(dir + "/stat") << stat_line(pid, comm, start_time);
  std::ofstream(dir + "/comm") << comm << "\n";
}

void FakeProc::add(uint32_t pid, const std::string& comm, uint64_t start_time) {
  const std::string dir = root() + "/" + std::to_string(pid);
  fs::create_directories(dir);
  fill(dir, pid, comm, start_time);
}

void FakeProc::recreate(uint32_t pid, const std::string& comm, uint64_t start_time) {
  // Built beside the old one and renamed over it: both exist at once, so the file system
  // cannot hand the freed inode number straight back.
  const std::string dir = root() + "/" + std::to_string(pid);
  const std::string next = root() + "/.next-" + std::to_string(pid);
  fs::create_directories(next);
  fill(next, pid, comm, start_time);
  fs::remove_all(dir);
  fs::rename(next, dir);
}

void FakeProc::remove(uint32_t pid) {
  fs::remove_all(root() + "/" + std::to_string(pid));
}

void FakeProc::write(const std::string& relative, const std::string& content) {
  const fs::path p = fs::path(root()) / relative;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
}

void FakeProc::mkdir(const std::string& relative) {
  fs::create_directories(fs::path(root()) / relative);
}

void FakeProc::unlink(const std::string& relative) {
  fs::remove(fs::path(root()) / relative);
}

}  // namespace cellos::telemetry::process::testing
