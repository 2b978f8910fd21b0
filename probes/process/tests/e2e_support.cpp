#include "e2e_support.hpp"

#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

namespace cellos::telemetry::process::testing {

using namespace std::chrono_literals;

Agent::Agent(const std::string& probe_options, std::vector<std::string> prefix)
    : capture_(dir_.file("events")) {
  const std::string config = dir_.write(
      "agent.toml", "[agent]\nheartbeat_interval_ms = 0\n[[probes.process]]\n" + probe_options +
                        "\n[[sinks.capture]]\npath = \"" + capture_ + "\"\n");
  std::vector<std::string> argv = std::move(prefix);
  for (auto& a : t::agent_argv(config, {"--plugin-dir", t::fixture_dir()})) argv.push_back(a);
  child_ = std::make_unique<t::ChildProcess>(argv, dir_);
}

Agent::~Agent() {
  if (child_->running()) stop();
}

int Agent::stop() {
  child_->signal(SIGTERM);
  return child_->wait(30s).value_or(-1);
}

std::optional<t::Captured> Agent::find(const std::string& source, pid_t pid,
                                       const std::string& comm) const {
  for (auto& e : events()) {
    if (e.probe_source == source && e.guest_pid == static_cast<uint32_t>(pid) &&
        (comm.empty() || e.guest_comm == comm)) {
      return e;
    }
  }
  return std::nullopt;
}

size_t Agent::count(const std::string& source, pid_t pid) const {
  size_t n = 0;
  for (auto& e : events()) {
    n += e.probe_source == source && e.guest_pid == static_cast<uint32_t>(pid);
  }
  return n;
}

bool Agent::await(const std::string& source, pid_t pid, const std::string& comm) const {
  return t::eventually([&] { return find(source, pid, comm).has_value(); }, 30s);
}

pid_t spawn_with_comm(const std::string& comm, const std::string& go_file) {
  char saved[32] = {};
  prctl(PR_GET_NAME, saved);
  prctl(PR_SET_NAME, comm.c_str());
  const pid_t pid = fork();
  if (pid == 0) {
    if (!go_file.empty()) {
      for (int i = 0; i < 12000 && access(go_file.c_str(), F_OK) != 0; ++i) usleep(5000);
    }
    _exit(0);
  }
  prctl(PR_SET_NAME, saved);
  return pid;
}

pid_t run_true() {
  const pid_t pid = fork();
  if (pid == 0) {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

pid_t spawn_with_comm_at_pid(const std::string& comm, pid_t pid, const std::string& go_file) {
  char saved[32] = {};
  prctl(PR_GET_NAME, saved);
  prctl(PR_SET_NAME, comm.c_str());
  pid_t want = pid;
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uintptr_t>(&want);
  args.set_tid_size = 1;
  const long child = syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    // A raw clone: only async-signal-safe calls from here on.
    for (int i = 0; i < 12000 && access(go_file.c_str(), F_OK) != 0; ++i) usleep(5000);
    _exit(0);
  }
  const int err = errno;
  prctl(PR_SET_NAME, saved);
  errno = err;
  return static_cast<pid_t>(child);
}

namespace {

// The state letter of /proc/PID/stat (field 3, after the last ')').
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

}  // namespace

void freeze(const Agent& agent) {
  agent.process().signal(SIGSTOP);
  t::eventually([&] { return process_state(agent.pid()) == 'T'; }, 30s);
}

void thaw(const Agent& agent) {
  agent.process().signal(SIGCONT);
}

bool wait_until_observing(const Agent& agent, bool polling) {
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    if (polling) {
      // A sweep only sees what lives across it, so this one waits to be seen. One alive at the
      // silent first sweep is never reported, hence a fresh one each round.
      const std::string go = agent.dir().file("ready-go");
      const pid_t pid = spawn_with_comm("ct-ready", go);
      const bool seen = t::eventually(
          [&] { return agent.find("process.spawned", pid, "ct-ready").has_value(); }, 1s);
      touch(go);
      t::wait_pid(pid);
      std::remove(go.c_str());
      if (seen) return true;
    } else {
      const pid_t pid = spawn_with_comm("ct-ready");
      t::wait_pid(pid);
      if (t::eventually([&] { return agent.find("process.exited", pid, "ct-ready").has_value(); },
                        200ms)) {
        return true;
      }
    }
  }
  return false;
}

bool can_unshare_net() {
  if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0) return false;
  return std::system("/usr/bin/unshare --net /bin/true") == 0;
}

void touch(const std::string& path) {
  std::ofstream(path) << "go\n";
}

}  // namespace cellos::telemetry::process::testing
