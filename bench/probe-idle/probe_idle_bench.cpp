// What probes cost a guest while nothing happens: the agent runs with a set of probes at their
// default options and the stdout sink writing to a file, and after a settling period its CPU
// time over N seconds is read from /proc/PID/task/*/schedstat (nanoseconds on a CPU, the
// scheduler's own count, not 10 ms ticks). One row per set of probes, after a baseline row for
// the agent with no probe at all (the core alone: its event loop and heartbeats).
//   cellos-telemetry-bench-probe-idle [--agent PATH] [--plugin-dir DIR] [--seconds N]
//                                     [--settle-s N] [--no-baseline]
//                                     [--probe-options NAME TOML]... [SET...]
// SET is a comma-separated list of probe names, e.g. "pressure" or "pressure,kernel"; the
// default is one set, "pressure". Each probe gets one [[probes.NAME]] table with its defaults,
// plus the TOML lines given for it with --probe-options (e.g. 2 s PSI windows where the agent
// lacks CAP_SYS_RESOURCE).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string agent = CT_BENCH_AGENT;
  std::string plugin_dir = CT_BENCH_PLUGIN_DIR;
  int seconds = 60;
  int settle_s = 2;
  bool baseline = true;
  std::vector<std::string> sets;
  std::map<std::string, std::string> probe_options;  // name -> TOML lines for its table
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: cellos-telemetry-bench-probe-idle [--agent PATH] [--plugin-dir DIR] "
               "[--seconds N] [--settle-s N] [--no-baseline] [--probe-options NAME TOML]... "
               "[SET...]\n"
               "  SET: comma-separated probe names (default: pressure)\n");
  std::exit(64);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, sep);) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// On-CPU nanoseconds of every thread of pid (the first field of each schedstat).
unsigned long long cpu_ns(pid_t pid) {
  unsigned long long sum = 0;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    sum += std::strtoull(read_file(task.path().string() + "/schedstat").c_str(), nullptr, 10);
  }
  return sum;
}

struct Row {
  std::string set;
  double seconds = 0;
  unsigned long long ns = 0;
  size_t events = 0;  // what the probes emitted meanwhile (heartbeats not counted)
};

// Runs the agent on one set of probes; exits with the agent's stderr if it does not stay up.
Row measure(const Options& o, const std::vector<std::string>& probes, const fs::path& dir) {
  const std::string config = (dir / "agent.toml").string();
  const std::string out = (dir / "events.json").string();
  const std::string err = (dir / "agent.err").string();
  {
    std::ofstream c(config);
    for (const auto& p : probes) {
      c << "[[probes." << p << "]]\n";
      if (auto it = o.probe_options.find(p); it != o.probe_options.end()) c << it->second << "\n";
    }
    c << "[[sinks.stdout]]\nformat = \"json\"\n";
  }
  const pid_t pid = fork();
  if (pid == 0) {
    std::freopen(out.c_str(), "w", stdout);
    std::freopen(err.c_str(), "w", stderr);
    execl(o.agent.c_str(), o.agent.c_str(), "--config", config.c_str(), "--plugin-dir",
          o.plugin_dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.settle_s));
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) != 0) {
    std::fprintf(stderr, "the agent exited during settling:\n%s", read_file(err).c_str());
    fs::remove_all(dir);
    std::exit(1);
  }
  const auto lines_before = split(read_file(out), '\n').size();
  const auto t0 = std::chrono::steady_clock::now();
  const unsigned long long ns0 = cpu_ns(pid);
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  const unsigned long long ns1 = cpu_ns(pid);
  const auto t1 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  waitpid(pid, &status, 0);

  Row r;
  for (size_t i = 0; i < probes.size(); ++i) r.set += (i ? "," : "") + probes[i];
  if (r.set.empty()) r.set = "(none: the core alone)";
  r.seconds = std::chrono::duration<double>(t1 - t0).count();
  r.ns = ns1 - ns0;
  const auto lines = split(read_file(out), '\n');
  for (size_t i = lines_before; i < lines.size(); ++i) {
    r.events += lines[i].find("\"agent.heartbeat\"") == std::string::npos;
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--agent" && has_value) {
      o.agent = argv[++i];
    } else if (a == "--plugin-dir" && has_value) {
      o.plugin_dir = argv[++i];
    } else if (a == "--seconds" && has_value) {
      o.seconds = std::atoi(argv[++i]);
    } else if (a == "--settle-s" && has_value) {
      o.settle_s = std::atoi(argv[++i]);
    } else if (a == "--probe-options" && i + 2 < argc) {
      o.probe_options[argv[i + 1]] = argv[i + 2];
      i += 2;
    } else if (a == "--no-baseline") {
      o.baseline = false;
    } else if (!a.empty() && a[0] != '-') {
      o.sets.push_back(a);
    } else {
      usage();
    }
  }
  if (o.seconds <= 0 || o.settle_s < 0) usage();
  if (o.sets.empty()) o.sets.push_back("pressure");

  char tmpl[] = "/tmp/ct-probe-idle-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path dir = tmpl;
  std::vector<Row> rows;
  if (o.baseline) rows.push_back(measure(o, {}, dir));
  for (const auto& set : o.sets) rows.push_back(measure(o, split(set, ','), dir));
  fs::remove_all(dir);

  std::printf("| probes | seconds | CPU ms | CPU %% of one CPU | events |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %.1f | %.3f | %.4f%% | %zu |\n", r.set.c_str(), r.seconds, r.ns / 1e6,
                100.0 * static_cast<double>(r.ns) / (r.seconds * 1e9), r.events);
  }
  std::printf("\nEvery probe at its defaults");
  for (const auto& [name, toml] : o.probe_options) {
    std::string flat = toml;
    for (char& c : flat) c = c == '\n' ? ';' : c;
    std::printf(", %s with: %s", name.c_str(), flat.c_str());
  }
  std::printf(". Events: what the probes emitted while measured (heartbeats not counted).\n");
  return 0;
}
