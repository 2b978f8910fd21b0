// What the agent costs a guest: resident memory when idle, size on disk stripped, and the time
// from exec to "ready" (--fork returns). Runs the agent it was built with, on the process probe
// (netlink) and the vsock sink into a Unix socket this program reads and discards.
// With --storm-s S, then: a fork storm of S seconds while the host stands still (it stops
// reading), the agent's largest VmRSS during it, and its VmRSS once the host reads again and
// the queue has drained (what a host outage costs the guest, and whether it is given back).
//   cellos-telemetry-bench-footprint [--agent PATH] [--plugin-dir DIR] [--runs N] [--storm-s S]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string agent = CT_BENCH_AGENT;
  std::string plugin_dir = CT_BENCH_PLUGIN_DIR;
  int runs = 20;
  int storm_s = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

long status_kb(pid_t pid, const std::string& key) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

// A host stand-in: accepts connections and throws away what arrives.
class Listener {
 public:
  explicit Listener(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0) {
      std::perror("listener");
      std::exit(1);
    }
    thread_ = std::thread([this] {
      std::vector<std::thread> readers;
      while (!stop_) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) break;
        readers.emplace_back([this, c] {
          char buf[65536];
          for (;;) {
            if (stalled_) {
              std::this_thread::sleep_for(std::chrono::milliseconds(10));
              if (!stop_) continue;
            }
            if (read(c, buf, sizeof buf) <= 0) break;
          }
          close(c);
        });
      }
      for (auto& r : readers) r.join();
    });
  }
  // A stalled host: connections stay open, nothing more is read until resume().
  void stall() { stalled_ = true; }
  void resume() { stalled_ = false; }
  ~Listener() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false}, stalled_{false};
  std::thread thread_;
};

// Runs argv with stderr to a file; returns the exit code.
int run(const std::vector<std::string>& argv, const std::string& err_file) {
  const pid_t pid = fork();
  if (pid == 0) {
    const FILE* f = std::freopen(err_file.c_str(), "w", stderr);
    (void)f;
    const FILE* o = std::freopen("/dev/null", "w", stdout);
    (void)o;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t forked_pid(const std::string& err) {
  std::smatch m;
  return std::regex_search(err, m, std::regex("agent running as pid ([0-9]+)"))
             ? static_cast<pid_t>(std::stol(m[1]))
             : -1;
}

void stop(pid_t pid) {
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
}

// Forks /bin/true-like children (fork + _exit) as fast as one process can for `seconds`,
// sampling the agent's VmRSS every 100 ms; returns the largest.
long storm(pid_t agent, int seconds) {
  const pid_t worker = fork();
  if (worker == 0) {
    for (;;) {
      const pid_t c = fork();
      if (c == 0) _exit(0);
      if (c > 0) waitpid(c, nullptr, 0);
    }
  }
  long max = 0;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    max = std::max(max, status_kb(agent, "VmRSS"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(worker, SIGKILL);
  waitpid(worker, nullptr, 0);
  return std::max(max, status_kb(agent, "VmRSS"));
}

uintmax_t stripped_size(const std::string& path, const fs::path& tmp) {
  const fs::path copy = tmp / fs::path(path).filename();
  fs::copy_file(path, copy, fs::copy_options::overwrite_existing);
  const std::string cmd = "strip --strip-unneeded '" + copy.string() + "'";
  if (std::system(cmd.c_str()) != 0) return 0;
  return fs::file_size(copy);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--agent") o.agent = argv[i + 1];
    if (k == "--plugin-dir") o.plugin_dir = argv[i + 1];
    if (k == "--runs") o.runs = std::stoi(argv[i + 1]);
    if (k == "--storm-s") o.storm_s = std::stoi(argv[i + 1]);
  }
  // The forked agents are orphaned when their parents return; as subreaper this program
  // inherits and reaps them.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  if (geteuid() != 0)
    std::fprintf(stderr, "note: not root; the process probe may fall back to procfs\n");

  char tmpl[] = "/tmp/ct-footprint-XXXXXX";
  const fs::path tmp = mkdtemp(tmpl);
  const std::string sock = (tmp / "host.sock_9001").string();
  Listener listener(sock);
  const std::string cfg = (tmp / "agent.toml").string();
  std::ofstream(cfg) << "[agent]\nheartbeat_interval_ms = 5000\n[[probes.process]]\n"
                        "method = \"auto\"\n[[sinks.vsock]]\naddress = \"unix:" +
                            sock + "\"\n";
  const std::vector<std::string> argv_agent{o.agent,        "--config",   cfg,
                                            "--plugin-dir", o.plugin_dir, "--fork"};
  const std::string err = (tmp / "err").string();

  // Exec to ready: the --fork parent returns once probes run and sinks tried to connect.
  std::vector<double> ms;
  for (int i = 0; i < o.runs; ++i) {
    const auto t0 = Clock::now();
    const int rc = run(argv_agent, err);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    const pid_t agent = forked_pid(read_file(err));
    if (rc != 0 || agent < 0) {
      std::fprintf(stderr, "agent failed (exit %d): %s\n", rc, read_file(err).c_str());
      return 1;
    }
    if (i + 1 < o.runs) {
      stop(agent);
      continue;
    }
    // The last one stays up for the memory reading.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const long rss = status_kb(agent, "VmRSS"), anon = status_kb(agent, "RssAnon"),
               file = status_kb(agent, "RssFile");
    long storm_max = 0, storm_after = 0;
    if (o.storm_s > 0) {
      listener.stall();
      storm_max = storm(agent, o.storm_s);
      listener.resume();
      // Drained within a few seconds: the reader takes what the agent held at socket speed.
      std::this_thread::sleep_for(std::chrono::seconds(3));
      storm_after = status_kb(agent, "VmRSS");
    }
    stop(agent);
    std::sort(ms.begin(), ms.end());
    uintmax_t total = 0;
    std::vector<std::pair<std::string, uintmax_t>> sizes;
    sizes.emplace_back("cellos-telemetry", stripped_size(o.agent, tmp));
    for (const auto& e : fs::directory_iterator(o.plugin_dir)) {
      if (e.path().extension() == ".so") {
        sizes.emplace_back(e.path().filename().string(), stripped_size(e.path().string(), tmp));
      }
    }
    std::printf("| figure | value |\n|---|---|\n");
    std::printf("| exec to ready (--fork), median of %d | %.1f ms |\n", o.runs, ms[ms.size() / 2]);
    std::printf("| exec to ready, max | %.1f ms |\n", ms.back());
    std::printf("| resident memory idle (VmRSS) | %ld KiB (%.2f MiB; anon %ld, file %ld) |\n", rss,
                rss / 1024.0, anon, file);
    if (o.storm_s > 0) {
      std::printf("| VmRSS during a %d s fork storm, host stalled: max | %ld KiB (%.2f MiB) |\n",
                  o.storm_s, storm_max, storm_max / 1024.0);
      std::printf("| VmRSS 3 s after the host reads again | %ld KiB (%.2f MiB) |\n", storm_after,
                  storm_after / 1024.0);
    }
    for (const auto& [name, size] : sizes) {
      std::printf("| %s stripped | %ju bytes |\n", name.c_str(), size);
      total += size;
    }
    std::printf("| agent + plugins stripped | %ju bytes (%.2f MiB) |\n", total,
                static_cast<double>(total) / (1024.0 * 1024.0));
  }
  fs::remove_all(tmp);
  return 0;
}
