// A program the soak runs (the agent, a receiver), with stdout and stderr sent to files.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace cellos::telemetry::soak {

class Child {
 public:
  // Starts argv[0] with stdout to out_path and stderr to err_path. The child gets its own
  // process group (a Ctrl-C reaches only the soak, which then stops in order) and dies with the
  // soak (PR_SET_PDEATHSIG), so nothing outlives a killed soak.
  Child(const std::vector<std::string>& argv, const std::string& out_path,
        const std::string& err_path);
  // SIGKILLs (by pid) and reaps a child still running.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out_path() const { return out_path_; }
  const std::string& err_path() const { return err_path_; }
  void signal(int sig) const;
  // Reaps the child if it has exited within `timeout`: its exit code, or 128 + signal.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  // Resource usage of the reaped child (CPU time), valid once wait() returned a value.
  const rusage& usage() const { return usage_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  rusage usage_{};
  std::string out_path_, err_path_;
};

std::string read_file(const std::string& path);  // "" when missing

}  // namespace cellos::telemetry::soak
