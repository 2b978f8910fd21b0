// capture-bench: run N short-lived /bin/true processes under each observer - the agent with
// method = "netlink", the agent with method = "procfs", and forkstat - and print one table:
// what fraction of the processes each reported, how late, and the CPU it spent doing so.
//
//   capture-bench [--processes 2000] [--rounds 3] [--interval-ms 100]
//                 [--forkstat /usr/bin/forkstat] [--agent PATH] [--plugin-dir DIR] [--sink-dir DIR]
//
// Needs root (the process connector, SO_RCVBUFFORCE). Observers run one after another, each on
// an identical workload, so none competes with another for the CPUs; each round runs them all,
// in a rotated order, so a change in background load does not always fall on the same one.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "observer.hpp"
#include "report.hpp"
#include "workload.hpp"

namespace cb = capture_bench;
using namespace std::chrono_literals;

namespace {

struct Settings {
  int processes = 2000;
  int rounds = 3;
  int interval_ms = 100;
  std::string agent = CAPTURE_BENCH_AGENT;
  std::string plugin_dir = CAPTURE_BENCH_PLUGIN_DIR;
  std::string sink_dir = CAPTURE_BENCH_FIXTURE_DIR;
  std::string forkstat = "/usr/bin/forkstat";
};

[[noreturn]] void die(const std::string& message) {
  std::cerr << "capture-bench: " << message << "\n";
  std::exit(1);
}

Settings parse(int argc, char** argv) {
  Settings s;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--processes") {
      s.processes = std::stoi(value());
    } else if (a == "--rounds") {
      s.rounds = std::max(1, std::stoi(value()));
    } else if (a == "--interval-ms") {
      s.interval_ms = std::stoi(value());
    } else if (a == "--agent") {
      s.agent = value();
    } else if (a == "--plugin-dir") {
      s.plugin_dir = value();
    } else if (a == "--sink-dir") {
      s.sink_dir = value();
    } else if (a == "--forkstat") {
      s.forkstat = value();
    } else {
      die("unknown argument " + a + " (see the comment at the top of bench/capture/main.cpp)");
    }
  }
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/capture-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) die("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool captured(const std::string& path, const std::string& source, pid_t pid) {
  for (const auto& e : cb::read_capture(path)) {
    if (e.source == source && e.pid == static_cast<uint32_t>(pid)) return true;
  }
  return false;
}

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

// Until a process started now is reported, the agent may still be loading its plugins.
bool wait_until_observing(const std::string& capture, bool polling, const TempDir& dir) {
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    const std::string go = dir.file("ready-go");
    const pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; polling && i < 6000 && access(go.c_str(), F_OK) != 0; ++i) usleep(5000);
      _exit(0);
    }
    const bool seen =
        polling ? wait_for([&] { return captured(capture, "process.spawned", pid); }, 2s)
                : (waitpid(pid, nullptr, 0),
                   wait_for([&] { return captured(capture, "process.exited", pid); }, 300ms));
    std::ofstream(go) << "go";
    waitpid(pid, nullptr, 0);
    std::filesystem::remove(go);
    if (seen) return true;
  }
  return false;
}

struct Measured {
  cb::Row row;
  cb::CpuTime cpu;
};

Measured run_agent(const Settings& s, const std::string& method) {
  TempDir dir;
  const std::string capture = dir.file("events");
  const std::string config = dir.file("agent.toml");
  std::ofstream(config) << "[agent]\nheartbeat_interval_ms = 0\n[[probes.process]]\nmethod = \""
                        << method << "\"\ninterval_ms = " << s.interval_ms
                        << "\n[[sinks.capture]]\npath = \"" << capture << "\"\n";
  cb::Observer agent(
      {s.agent, "--config", config, "--plugin-dir", s.plugin_dir, "--plugin-dir", s.sink_dir},
      dir.file("out"), dir.file("err"));
  const bool polling = method == "procfs";
  if (!wait_until_observing(capture, polling, dir)) {
    die("the agent (method = \"" + method + "\") did not start observing:\n" +
        slurp(dir.file("err")));
  }
  std::this_thread::sleep_for(200ms);
  const cb::CpuTime before = agent.cpu();
  const auto spawns = cb::run_true_processes(s.processes);
  if (polling) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3 * s.interval_ms + 100));
  } else {
    wait_for([&] { return captured(capture, "process.exited", spawns.back().pid); }, 30s);
    std::this_thread::sleep_for(100ms);
  }
  const cb::CpuTime after = agent.cpu();
  const int code = agent.stop(SIGTERM);
  if (code != 0) std::cerr << "agent exit code " << code << ":\n" << slurp(dir.file("err"));
  const std::string warnings = slurp(dir.file("err"));
  if (!warnings.empty()) std::cerr << "agent (" << method << ") said:\n" << warnings;
  cb::Row row =
      cb::score_capture("agent, method = \"" + method + "\"" +
                            (polling ? " (" + std::to_string(s.interval_ms) + " ms)" : ""),
                        spawns, cb::read_capture(capture));
  return {row, after - before};
}

Measured run_forkstat(const Settings& s) {
  TempDir dir;
  cb::Observer fs({s.forkstat, "-e", "fork,exec,exit"}, dir.file("out"), dir.file("err"));
  // forkstat's output is block-buffered into a file, so readiness cannot be watched for; it
  // subscribes within milliseconds of starting.
  std::this_thread::sleep_for(1s);
  const cb::CpuTime before = fs.cpu();
  const auto spawns = cb::run_true_processes(s.processes);
  std::this_thread::sleep_for(500ms);
  const cb::CpuTime after = fs.cpu();
  fs.stop(SIGINT);
  return {cb::score_forkstat("forkstat -e fork,exec,exit", spawns, slurp(dir.file("out"))),
          after - before};
}

std::string machine() {
  utsname u{};
  uname(&u);
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  return std::string(u.sysname) + " " + u.release + " " + u.machine + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " CPUs (" + model + ")";
}

}  // namespace

int main(int argc, char** argv) {
  const Settings s = parse(argc, argv);
  if (geteuid() != 0) die("needs root: the process connector and SO_RCVBUFFORCE");
  if (access(s.forkstat.c_str(), X_OK) != 0)
    die(s.forkstat + " not found (apt-get install forkstat)");
  std::vector<cb::Row> rows(3);
  for (int round = 0; round < s.rounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      const int which = (k + round) % 3;
      const Measured m = which == 0   ? run_agent(s, "netlink")
                         : which == 1 ? run_agent(s, "procfs")
                                      : run_forkstat(s);
      rows[static_cast<size_t>(which)].add(m.row, m.cpu);
    }
  }
  std::cout << "capture-bench: " << s.rounds << " round(s) of " << s.processes
            << " x fork+exec /bin/true, one after another, per observer; " << machine() << "\n\n"
            << cb::markdown_table(rows);
  const auto agent = rows[0].cpu_per_10k();
  const auto forkstat = rows[2].cpu_per_10k();
  std::vector<double> ratios;
  for (size_t i = 0; i < agent.size() && i < forkstat.size(); ++i) {
    if (forkstat[i] > 0) ratios.push_back(agent[i] / forkstat[i]);
  }
  std::string each;
  for (double r : ratios) each += (each.empty() ? "" : ", ") + std::to_string(r).substr(0, 4);
  std::cout << "\nagent (netlink) CPU per event relative to forkstat: median "
            << std::to_string(cb::median(ratios)).substr(0, 4) << "x (each round: " << each
            << ")\n";
  return 0;
}
