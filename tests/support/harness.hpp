// Shared test harness: temp dirs, the real agent binary as a child process, captured events.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// For a test that needs root (the kernel's taskstats, chown to another user, unshare): skips it
// with the reason when not root. Such tests also carry the CTest label "root" (ROOT_TESTS in
// cmake/CellosTelemetryTesting.cmake), so `ctest -LE root` leaves them out of a non-root run.
#define CT_SKIP_UNLESS_ROOT(why) \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: " << (why)

namespace cellos::telemetry::testing {

// Paths of the build's artefacts, compiled in; the environment variable named beside each
// overrides it.
std::string agent_path();   // CT_AGENT
std::string plugin_dir();   // CT_PLUGIN_DIR
std::string fixture_dir();  // CT_FIXTURE_DIR
std::string source_dir();   // CT_SOURCE_DIR
std::string binary_dir();   // CT_BINARY_DIR

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Writes content to name in this directory and returns its path.
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

std::string read_file(const std::string& path);  // "" when missing

// Runs a program (by default the agent) with stdout and stderr captured to files.
// The destructor SIGKILLs it (by pid) if it is still running.
class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const TempDir& dir);
  // With stdout and stderr on fds the caller owns (a pipe, a shared file); out() and err() are
  // then empty.
  ChildProcess(std::vector<std::string> argv, int out_fd, int err_fd);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for exit: the exit code, 128+signal if killed, or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();
  std::string out() const { return read_file(out_path_); }
  std::string err() const { return read_file(err_path_); }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  std::string out_path_, err_path_;
};

// A pipe standing in for a console nobody reads (a stalled serial console, a Firecracker stdout
// nobody drains): hand write_end() to a ChildProcess, and read only when the test says so.
class ConsolePipe {
 public:
  ConsolePipe();
  ~ConsolePipe();
  ConsolePipe(const ConsolePipe&) = delete;
  ConsolePipe& operator=(const ConsolePipe&) = delete;
  int write_end() const { return w_; }
  // True when the pipe cannot take one byte more, so every writer now blocks or gets EAGAIN.
  // Probed with a non-blocking write through a description of its own (the agent's stays
  // blocking, as a console's is); a byte that fits is a newline, so lines stay lines.
  bool full() const;
  // Everything readable now, without waiting.
  std::string drain() const;
  // Closes the test's write ends, so drain() after the child exits reads to the end.
  void close_write_ends();

 private:
  int r_ = -1, w_ = -1, probe_ = -1;
};

// Starts the agent with --config CONFIG --plugin-dir PLUGIN_DIR plus extra args.
std::vector<std::string> agent_argv(const std::string& config, std::vector<std::string> extra = {});

// Runs the agent to completion (for --check-config and error paths): exit code, stdout, stderr.
struct Outcome {
  int exit_code = -1;
  std::string out, err;
};
Outcome run_agent(const std::vector<std::string>& args,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls pred every 10 ms until it is true or the timeout passes; returns its last value.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One event as the capturing-sink fixture (tests/fixtures/capture_sink.cpp) writes it.
struct Captured {
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::map<std::string, uint64_t> extras;  // the unsigned ones
  // Every extra as the fixture writes it: 42, -3, true, t:HEX, l:HEX,HEX
  std::map<std::string, std::string> typed_extras;
};
std::vector<Captured> read_captured(const std::string& path);

// One flat JSON object per line ({"k":"v","n":1}), as the stdout sink writes; values as text
// with string escapes resolved. Lines that are not such objects are skipped.
std::vector<std::map<std::string, std::string>> parse_json_lines(const std::string& text);

// A child that sets its comm to `comm`, waits until `go` exists (if given), then exits.
// Returns its pid; reap it with wait_pid.
pid_t spawn_named(const std::string& comm, const std::string& go_file = "");
int wait_pid(pid_t pid);

// A Unix stream socket listening at path (a host standing in for vsock), or -1.
int listen_unix(const std::string& path, int backlog);

// Reading the agent's log lines without std::regex (GCC 12 warns inside <regex> under ASan).
// A whole log line: "cellos-telemetry: info|warning|error: ...".
bool is_agent_log_line(std::string_view line);
// The number in a line that is exactly `prefix` followed by decimal digits, if it is one.
std::optional<uint64_t> number_after(std::string_view line, std::string_view prefix);

}  // namespace cellos::telemetry::testing
