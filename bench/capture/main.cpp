// capture-bench: how much of a burst of short-lived processes each observer reports, how late,
// and at what CPU cost per process, and one table per workload. Workloads: N back-to-back
// fork + exec of /bin/true (2,000 and 20,000 by default) and N processes of 8 threads (1,000).
// Observers, each on its own identical run of the workload:
//   - the agent with the process probe (method = "netlink") and the vsock sink to a Unix
//     listener here (the frames decoded with the wire library's strict decoder), once per
//     `context` ("full", "minimal") when the probe has that option, else once as it is;
//   - the same agent with the stdout sink to /dev/null instead (CPU only: nothing to score);
//   - the agent with method = "procfs" (on the first workload only: it misses most anyway);
//   - forkstat -e fork,exec,exit (it reads each process's command line);
//   - capture-floor-observer (floor_observer.c): connector + taskstats, recvmmsg, no /proc reads;
//   - with --baseline-agent, another build of the agent (vsock sink, each context), to show a
//     change's before and after in the same rounds.
// CPU is the observer's time on CPU (/proc/PID/task/*/schedstat, all threads) from idle before
// the workload until it has drained after it (the vsock agent: the last exit frame received;
// the others: their CPU time still for 100 ms, at most 1 s), per process of the workload. Each
// round runs every observer on every workload, in an order rotated per round, so a change in
// background load does not always fall on the same one; the table gives the median and the range
// over rounds.
//
//   capture-bench [--processes 2000] [--large 20000] [--threaded 1000] [--rounds 3]
//                 [--large-rounds N] [--interval-ms 100] [--forkstat /usr/bin/forkstat]
//                 [--agent PATH] [--plugin-dir DIR] [--sink-dir DIR] [--floor PATH]
//                 [--baseline-agent PATH [--baseline-plugin-dir DIR]]
// A count of 0 leaves that workload out. Needs root (the process connector, SO_RCVBUFFORCE).
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
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host_listener.hpp"
#include "observer.hpp"
#include "report.hpp"
#include "workload.hpp"

namespace cb = capture_bench;
using namespace std::chrono_literals;

namespace {

struct Settings {
  int processes = 2000;
  int large = 20000;
  int threaded = 1000;
  int rounds = 3;
  int large_rounds = -1;  // -1: as many as rounds
  int interval_ms = 100;
  std::string floor = CAPTURE_BENCH_FLOOR;
  std::string self;
  std::string agent = CAPTURE_BENCH_AGENT;
  std::string plugin_dir = CAPTURE_BENCH_PLUGIN_DIR;
  std::string sink_dir = CAPTURE_BENCH_FIXTURE_DIR;
  std::string forkstat = "/usr/bin/forkstat";
  // Another build of the agent (e.g. the commit before a change), run in the same rounds.
  std::string baseline_agent;
  std::string baseline_plugin_dir;
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
    } else if (a == "--large") {
      s.large = std::stoi(value());
    } else if (a == "--threaded") {
      s.threaded = std::stoi(value());
    } else if (a == "--large-rounds") {
      s.large_rounds = std::max(1, std::stoi(value()));
    } else if (a == "--floor") {
      s.floor = value();
    } else if (a == "--rounds") {
      s.rounds = std::max(1, std::stoi(value()));
    } else if (a == "--interval-ms") {
      s.interval_ms = std::stoi(value());
    } else if (a == "--baseline-agent") {
      s.baseline_agent = value();
    } else if (a == "--baseline-plugin-dir") {
      s.baseline_plugin_dir = value();
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

template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

using Seen = std::function<bool(const std::string& source, pid_t pid)>;

// Until a process started now is reported, the agent may still be loading its plugins.
bool wait_until_observing(const Seen& seen, bool polling, const TempDir& dir) {
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    const std::string go = dir.file("ready-go");
    const pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; polling && i < 6000 && access(go.c_str(), F_OK) != 0; ++i) usleep(5000);
      _exit(0);
    }
    const bool ok = polling ? wait_for([&] { return seen("process.spawned", pid); }, 2s)
                            : (waitpid(pid, nullptr, 0),
                               wait_for([&] { return seen("process.exited", pid); }, 300ms));
    std::ofstream(go) << "go";
    waitpid(pid, nullptr, 0);
    std::filesystem::remove(go);
    if (ok) return true;
  }
  return false;
}

// Until the observer's CPU time stops growing (100 ms without a change), at most 1 s: it has
// drained what the workload made it do. For observers whose output cannot be watched. On a busy
// guest, where every observer also sees everyone else's processes, the cap is what ends it.
cb::CpuTime settled_cpu(const cb::Observer& o) {
  cb::CpuTime last = o.cpu();
  int still = 0;
  const auto end = std::chrono::steady_clock::now() + 1s;
  while (still < 2 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(50ms);
    const cb::CpuTime now = o.cpu();
    still = now.on_cpu_ns == last.on_cpu_ns ? still + 1 : 0;
    last = now;
  }
  return last;
}

struct Workload {
  std::string name;  // the table's first header cell
  int count;
  bool threaded;      // processes of 8 threads, else /bin/true
  std::string comm;   // the name exec gives them
  std::string argv0;  // how forkstat's command line for them ends
  bool with_procfs;   // also run the procfs observer
  int rounds;
};

std::vector<cb::Spawn> run_workload(const Settings& s, const Workload& w) {
  return w.threaded ? cb::run_threaded_processes(w.count, s.self) : cb::run_true_processes(w.count);
}

struct Measured {
  cb::Row row;
  cb::CpuTime cpu;
};

std::string slurp_err(const TempDir& dir) {
  return slurp(dir.file("err"));
}

std::string agent_config(const Settings& s, const std::string& method, const std::string& context,
                         const std::string& sink) {
  std::string c = "[agent]\nheartbeat_interval_ms = 0\n[[probes.process]]\nmethod = \"" + method +
                  "\"\ninterval_ms = " + std::to_string(s.interval_ms) + "\n";
  if (!context.empty()) c += "context = \"" + context + "\"\n";
  return c + sink;
}

std::vector<std::string> agent_argv(const Settings& s, const std::string& config) {
  return {s.agent, "--config", config, "--plugin-dir", s.plugin_dir, "--plugin-dir", s.sink_dir};
}

void report_agent_end(cb::Observer& agent, const TempDir& dir, const std::string& what) {
  const int code = agent.stop(SIGTERM);
  if (code != 0) std::cerr << "agent (" << what << ") exit code " << code << "\n";
  const std::string warnings = slurp_err(dir);
  if (!warnings.empty()) std::cerr << "agent (" << what << ") said:\n" << warnings;
}

// The agent with the vsock sink to a Unix listener here, scored from the decoded frames.
Measured run_agent_vsock(const Settings& s, const Workload& w, const std::string& context,
                         const std::string& label) {
  TempDir dir;
  cb::HostListener host(dir.file("host.sock"));
  const std::string config = dir.file("agent.toml");
  std::ofstream(config) << agent_config(s, "netlink", context,
                                        "[[sinks.vsock]]\naddress = \"" + host.address() + "\"\n");
  cb::Observer agent(agent_argv(s, config), dir.file("out"), dir.file("err"));
  const Seen seen = [&](const std::string& source, pid_t pid) {
    return host.saw(source, static_cast<uint32_t>(pid));
  };
  if (!wait_until_observing(seen, false, dir)) die("the agent did not start:\n" + slurp_err(dir));
  const cb::CpuTime before = agent.cpu();
  const auto spawns = run_workload(s, w);
  // Drained: the last process's exit has reached the host.
  wait_for([&] { return seen("process.exited", spawns.back().pid); }, 60s);
  const cb::CpuTime after = agent.cpu();
  report_agent_end(agent, dir, label);
  if (host.rejected()) std::cerr << label << ": " << host.rejected() << " frame(s) rejected\n";
  cb::Row row = cb::score_capture(label, spawns, host.events(), w.comm);
  row.has_argv = true;
  return {row, after - before};
}

// The same agent writing JSON lines to /dev/null: what the stdout sink costs instead.
Measured run_agent_stdout(const Settings& s, const Workload& w, const std::string& context,
                          const std::string& label) {
  TempDir dir;
  const std::string config = dir.file("agent.toml");
  std::ofstream(config) << agent_config(s, "netlink", context,
                                        "[[sinks.stdout]]\nformat = \"json\"\n");
  cb::Observer agent(agent_argv(s, config), "/dev/null", dir.file("err"));
  std::this_thread::sleep_for(1s);  // nothing to watch for readiness: it takes milliseconds
  const cb::CpuTime before = agent.cpu();
  const auto spawns = run_workload(s, w);
  const cb::CpuTime after = settled_cpu(agent);
  report_agent_end(agent, dir, label);
  cb::Row row;
  row.observer = label;
  row.scored = false;
  row.processes = spawns.size();
  return {row, after - before};
}

Measured run_agent_procfs(const Settings& s, const Workload& w, const std::string& label) {
  TempDir dir;
  const std::string capture = dir.file("events");
  const std::string config = dir.file("agent.toml");
  std::ofstream(config) << agent_config(s, "procfs", "",
                                        "[[sinks.capture]]\npath = \"" + capture + "\"\n");
  cb::Observer agent(agent_argv(s, config), dir.file("out"), dir.file("err"));
  const Seen seen = [&](const std::string& source, pid_t pid) {
    for (const auto& e : cb::read_capture(capture)) {
      if (e.source == source && e.pid == static_cast<uint32_t>(pid)) return true;
    }
    return false;
  };
  if (!wait_until_observing(seen, true, dir)) die("the agent did not start:\n" + slurp_err(dir));
  const cb::CpuTime before = agent.cpu();
  const auto spawns = run_workload(s, w);
  std::this_thread::sleep_for(std::chrono::milliseconds(3 * s.interval_ms + 100));
  const cb::CpuTime after = agent.cpu();
  report_agent_end(agent, dir, label);
  cb::Row row = cb::score_capture(label, spawns, cb::read_capture(capture), w.comm);
  row.has_latency = false;  // a sighting, not the fork
  return {row, after - before};
}

Measured run_forkstat(const Settings& s, const Workload& w) {
  TempDir dir;
  cb::Observer fs({s.forkstat, "-e", "fork,exec,exit"}, dir.file("out"), dir.file("err"));
  // forkstat's output is block-buffered into a file, so readiness cannot be watched for; it
  // subscribes within milliseconds of starting.
  std::this_thread::sleep_for(1s);
  const cb::CpuTime before = fs.cpu();
  const auto spawns = run_workload(s, w);
  const cb::CpuTime after = settled_cpu(fs);
  fs.stop(SIGINT);
  return {cb::score_forkstat("forkstat -e fork,exec,exit", spawns, slurp(dir.file("out")), w.argv0),
          after - before};
}

Measured run_floor(const Settings& s, const Workload& w) {
  TempDir dir;
  cb::Observer fl({s.floor}, dir.file("out"), dir.file("err"));
  std::this_thread::sleep_for(1s);
  const cb::CpuTime before = fl.cpu();
  const auto spawns = run_workload(s, w);
  const cb::CpuTime after = settled_cpu(fl);
  const int code = fl.stop(SIGTERM);  // it prints what it kept only now
  if (code != 0) std::cerr << "floor observer exit code " << code << ":\n" << slurp_err(dir);
  return {cb::score_floor("floor: connector + taskstats, no /proc", spawns, slurp(dir.file("out"))),
          after - before};
}

// Whether the process probe declares `context` (the ledger's option): its options table.
bool probe_has_context(const Settings& s) {
  const std::string cmd =
      s.agent + " --options-markdown " + s.plugin_dir + "/probe-process.so 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return false;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out.find("`context`") != std::string::npos;
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

std::string ratio_line(const std::string& what, const cb::Row& a, const cb::Row& b) {
  std::vector<double> r;
  for (size_t i = 0; i < a.cpu_us_per_process.size() && i < b.cpu_us_per_process.size(); ++i) {
    if (b.cpu_us_per_process[i] > 0) r.push_back(a.cpu_us_per_process[i] / b.cpu_us_per_process[i]);
  }
  if (r.empty()) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2fx", cb::median(r));
  std::string each;
  for (double x : r) {
    char e[32];
    std::snprintf(e, sizeof e, "%.2f", x);
    each += (each.empty() ? "" : ", ") + std::string(e);
  }
  return "- " + what + ": median " + buf + " (each round: " + each + ")\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--thread-child") return cb::thread_child_main();
  Settings s = parse(argc, argv);
  s.self = std::filesystem::read_symlink("/proc/self/exe").string();
  if (s.large_rounds < 0) s.large_rounds = s.rounds;
  if (geteuid() != 0) die("needs root: the process connector and SO_RCVBUFFORCE");
  if (access(s.forkstat.c_str(), X_OK) != 0)
    die(s.forkstat + " not found (apt-get install forkstat)");
  if (access(s.floor.c_str(), X_OK) != 0) die(s.floor + " not found (--floor PATH)");

  const bool contexts = probe_has_context(s);
  // Observer columns: each is a label and how to run it on a workload.
  struct Spec {
    std::string label;
    std::function<Measured(const Workload&)> run;
    bool procfs = false;
  };
  std::vector<Spec> specs;
  const std::vector<std::string> ctx =
      contexts ? std::vector<std::string>{"full", "minimal"} : std::vector<std::string>{""};
  for (const std::string& c : ctx) {
    const std::string label =
        "agent, vsock sink" +
        (c.empty() ? std::string(" (probe without context option)") : ", context = \"" + c + "\"");
    specs.push_back(
        {label, [&s, c, label](const Workload& w) { return run_agent_vsock(s, w, c, label); }});
  }
  if (!contexts) {
    specs.push_back({"agent, vsock sink, context = \"minimal\" (option absent: not run)", nullptr});
  }
  const std::string first_ctx = ctx.front();
  const std::string stdout_label =
      "agent, stdout sink to /dev/null" +
      (first_ctx.empty() ? std::string() : ", context = \"" + first_ctx + "\"");
  specs.push_back({stdout_label, [&s, first_ctx, stdout_label](const Workload& w) {
                     return run_agent_stdout(s, w, first_ctx, stdout_label);
                   }});
  const std::string procfs_label =
      "agent, method = \"procfs\" (" + std::to_string(s.interval_ms) + " ms)";
  specs.push_back(
      {procfs_label,
       [&s, procfs_label](const Workload& w) { return run_agent_procfs(s, w, procfs_label); },
       true});
  if (!s.baseline_agent.empty()) {
    Settings base = s;
    base.agent = s.baseline_agent;
    if (!s.baseline_plugin_dir.empty()) base.plugin_dir = s.baseline_plugin_dir;
    for (const std::string& c : ctx) {
      const std::string label =
          "baseline agent, vsock sink" + (c.empty() ? std::string() : ", context = \"" + c + "\"");
      specs.push_back({label, [base, c, label](const Workload& w) {
                         return run_agent_vsock(base, w, c, label);
                       }});
    }
  }
  specs.push_back({"forkstat", [&s](const Workload& w) { return run_forkstat(s, w); }});
  specs.push_back({"floor", [&s](const Workload& w) { return run_floor(s, w); }});

  std::vector<Workload> workloads;
  if (s.processes > 0) {
    workloads.push_back({std::to_string(s.processes) + " x /bin/true", s.processes, false, "true",
                         "/bin/true", true, s.rounds});
  }
  if (s.large > 0) {
    workloads.push_back({std::to_string(s.large) + " x /bin/true", s.large, false, "true",
                         "/bin/true", false, s.large_rounds});
  }
  if (s.threaded > 0) {
    workloads.push_back({std::to_string(s.threaded) + " x 8 threads", s.threaded, true,
                         "capture-bench", "--thread-child", false, s.rounds});
  }

  std::cout << "capture-bench: processes one after another per observer; rounds: " << s.rounds
            << " (" << s.large_rounds << " for " << s.large << " x /bin/true); " << machine()
            << "\n";
  for (const Workload& w : workloads) {
    std::vector<cb::Row> rows(specs.size());
    for (size_t i = 0; i < specs.size(); ++i) rows[i].observer = specs[i].label;
    for (int round = 0; round < w.rounds; ++round) {
      for (size_t k = 0; k < specs.size(); ++k) {
        const size_t which = (k + static_cast<size_t>(round)) % specs.size();
        const Spec& spec = specs[which];
        if (!spec.run || (spec.procfs && !w.with_procfs)) continue;
        const Measured m = spec.run(w);
        cb::Row& r = rows[which];
        if (r.processes == 0) {  // what kind of row it is comes with its first round
          r.scored = m.row.scored;
          r.comm_checked = m.row.comm_checked;
          r.has_latency = m.row.has_latency;
          r.has_argv = m.row.has_argv;
        }
        r.add(m.row, m.cpu);
      }
    }
    std::vector<cb::Row> shown;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].procfs && !w.with_procfs) continue;
      if (!specs[i].run) {
        cb::Row r;
        r.observer = specs[i].label;
        r.scored = false;
        shown.push_back(r);
        continue;
      }
      shown.push_back(rows[i]);
    }
    std::cout << "\n" << cb::markdown_table(w.name, shown) << "\n";
    std::cout << ratio_line("agent (" + specs[0].label + ") CPU per process relative to forkstat",
                            rows[0], rows[specs.size() - 2]);
    std::cout << ratio_line("relative to the floor", rows[0], rows[specs.size() - 1]);
    if (ctx.size() > 1) {
      std::cout << ratio_line(
          "agent (" + specs[1].label + ") CPU per process relative to the floor", rows[1],
          rows[specs.size() - 1]);
    }
  }
  return 0;
}
