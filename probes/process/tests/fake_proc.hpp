// A fake /proc in a temp dir: pid directories with stat and comm files the tests control.
#pragma once

#include <cstdint>
#include <string>

#include "harness.hpp"

namespace cellos::telemetry::process::testing {

class FakeProc {
 public:
  const std::string& root() const { return dir_.path(); }

  // Creates (or rewrites the files of) /proc/PID with a stat line naming comm and start time.
  void add(uint32_t pid, const std::string& comm, uint64_t start_time);
  // Replaces /proc/PID by a new directory, so it gets a new inode, as the kernel does when it
  // re-instantiates a pid directory or the pid is reused.
  void recreate(uint32_t pid, const std::string& comm, uint64_t start_time);
  void remove(uint32_t pid);
  void write(const std::string& relative, const std::string& content);
  void mkdir(const std::string& relative);
  void unlink(const std::string& relative);

  static std::string stat_line(uint32_t pid, const std::string& comm, uint64_t start_time);

 private:
  void fill(const std::string& dir, uint32_t pid, const std::string& comm, uint64_t start_time);
  cellos::telemetry::testing::TempDir dir_;
};

}  // namespace cellos::telemetry::process::testing
