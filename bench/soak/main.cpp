// cellos-telemetry-soak: a fork storm under the real agent while its receiver is SIGKILLed and
// restarted, then an exact account of every event. See README.md.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "accounting.hpp"
#include "child.hpp"
#include "storm.hpp"

namespace fs = std::filesystem;
namespace soak = cellos::telemetry::soak;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// CTest's convention for "skipped" (set as SKIP_RETURN_CODE on the test).
constexpr int kExitSkip = 77;
constexpr int kExitUsage = 64;

struct Options {
  double duration_s = 600;
  double restart_every_s = 30;
  int down_ms = 500;
  double rate = 0;
  int64_t queue_capacity = 65536;
  int workers = 2;
  int exec_every = 2;
  bool scripted = true;
  int64_t rss_limit_kib = 0;
  int64_t receive_buffer_kib = 0;  // 0: the probe's default
  bool keep = false;
  std::string agent = CT_SOAK_AGENT;
  std::string recv = CT_SOAK_RECV;
  std::string plugin_dir = CT_SOAK_PLUGIN_DIR;
  std::string fixture_dir = CT_SOAK_FIXTURE_DIR;
};

const char* const kUsage =
    "Usage: cellos-telemetry-soak [options]\n"
    "\n"
    "Runs the agent (process probe over netlink, vsock sink to a Unix socket) under a fork\n"
    "storm while its receiver is SIGKILLed and restarted, samples the agent's resident memory,\n"
    "then checks that every event the agent queued was received or counted as dropped, exactly,\n"
    "and that no receiver rejected a frame. Prints a table; exits 1 if a check failed.\n"
    "\n"
    "  --duration-s S        how long the storm runs (600)\n"
    "  --restart-every-s S   SIGKILL and restart the receiver this often (30)\n"
    "  --down-ms MS          how long the receiver stays down each time (500)\n"
    "  --rate N              processes per second over all workers; 0: as fast as they can (0)\n"
    "  --workers N           storm worker processes (2)\n"
    "  --exec-every N        every Nth process execs /bin/true, the others _exit; 0: none (2)\n"
    "  --queue-capacity N    the vsock sink's queue_capacity (65536)\n"
    "  --no-scripted         no scripted 100/s sequence stream beside the process probe\n"
    "  --receive-buffer-kib N  the process probe's netlink queue; small values provoke\n"
    "                        kernel-side loss and resyncs (default: the probe's)\n"
    "  --rss-limit-kib N     fail if the agent's VmRSS ever exceeds this (0: no limit)\n"
    "  --keep                keep the working directory (kept anyway when a check fails)\n"
    "  --agent PATH, --recv PATH, --plugin-dir DIR, --fixture-dir DIR\n"
    "                        another build's artefacts (default: this build's)\n"
    "\n"
    "Needs root (the process connector). Exit codes: 0 exact, 1 a check failed, 64 bad command\n"
    "line, 77 not root (skipped).\n";

volatile sig_atomic_t g_interrupted = 0;

void on_interrupt(int) {
  g_interrupted = 1;
}

bool parse_options(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    if (k == "--no-scripted") {
      o.scripted = false;
      continue;
    }
    if (k == "--keep") {
      o.keep = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    try {
      if (k == "--duration-s") {
        o.duration_s = std::stod(v);
      } else if (k == "--restart-every-s") {
        o.restart_every_s = std::stod(v);
      } else if (k == "--down-ms") {
        o.down_ms = std::stoi(v);
      } else if (k == "--rate") {
        o.rate = std::stod(v);
      } else if (k == "--workers") {
        o.workers = std::stoi(v);
      } else if (k == "--exec-every") {
        o.exec_every = std::stoi(v);
      } else if (k == "--queue-capacity") {
        o.queue_capacity = std::stoll(v);
      } else if (k == "--receive-buffer-kib") {
        o.receive_buffer_kib = std::stoll(v);
      } else if (k == "--rss-limit-kib") {
        o.rss_limit_kib = std::stoll(v);
      } else if (k == "--agent") {
        o.agent = v;
      } else if (k == "--recv") {
        o.recv = v;
      } else if (k == "--plugin-dir") {
        o.plugin_dir = v;
      } else if (k == "--fixture-dir") {
        o.fixture_dir = v;
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  return o.duration_s > 0 && o.restart_every_s > 0 && o.down_ms >= 0 && o.rate >= 0 &&
         o.workers >= 1 && o.exec_every >= 0 && o.queue_capacity >= 1;
}

int64_t vm_rss_kib(pid_t pid) {
  std::istringstream in(soak::read_file("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

bool wait_for(const std::function<bool()>& pred, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

uint64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::string per_second(double n, double s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f/s", s > 0 ? n / s : 0.0);
  return buf;
}

std::string percent(uint64_t part, uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", whole ? 100.0 * double(part) / double(whole) : 0.0);
  return buf;
}

class Soak {
 public:
  explicit Soak(const Options& o) : o_(o) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cellos-soak-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    socket_ = dir_ + "/vm.vsock_9001";
  }

  int run();

 private:
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  void write_config() const;
  bool start_receiver();
  bool restart_receiver();
  void sample_rss();
  void fail(const std::string& why) { failures_.push_back(why); }
  int finish(bool checked);
  void print_table(const soak::Tally& t, const soak::SinkAccount& vsock,
                   const soak::StormStarts& starts, const std::string& agent_log) const;

  Options o_;
  std::string dir_, socket_;
  std::vector<std::unique_ptr<soak::Child>> receivers_;
  std::unique_ptr<soak::Child> agent_;
  std::vector<std::string> failures_;
  int64_t rss_max_ = 0, rss_final_ = 0;
  double storm_s_ = 0, agent_cpu_s_ = 0;
  uint64_t rejected_ = 0;  // "rejected frame" lines over every receiver's stderr
  bool drained_ = false;
};

void Soak::write_config() const {
  std::ofstream c(path("agent.toml"));
  // A long shutdown flush: everything the sink took must reach the last receiver before the
  // agent exits, or it would count as neither received nor dropped.
  c << "[agent]\nheartbeat_interval_ms = 5000\nshutdown_timeout_ms = 30000\n\n"
    << "[[probes.process]]\nmethod = \"netlink\"\n";
  if (o_.receive_buffer_kib > 0) c << "receive_buffer_kib = " << o_.receive_buffer_kib << "\n";
  c << "\n";
  if (o_.scripted) {
    c << "[[probes.scripted]]\nevents = ['soak.event seq soak']\ninterval_ms = 10\nburst = 1\n\n";
  }
  c << "[[sinks.vsock]]\naddress = \"unix:" << socket_
    << "\"\nqueue_capacity = " << o_.queue_capacity << "\n";
}

bool Soak::start_receiver() {
  const size_t n = receivers_.size();
  // The killed receiver's socket file is removed here, so its reappearance means "bound".
  std::error_code ec;
  fs::remove(socket_, ec);
  receivers_.push_back(std::make_unique<soak::Child>(
      std::vector<std::string>{o_.recv, "--listen", "unix:" + socket_},
      path("recv-" + std::to_string(n) + ".jsonl"), path("recv-" + std::to_string(n) + ".err")));
  const soak::Child& r = *receivers_.back();
  if (!wait_for(
          [&] { return soak::read_file(r.err_path()).find("listening on") != std::string::npos; },
          milliseconds(10000))) {
    fail("receiver " + std::to_string(n) +
         " did not start listening: " + soak::read_file(r.err_path()));
    return false;
  }
  return true;
}

bool Soak::restart_receiver() {
  soak::Child& r = *receivers_.back();
  r.signal(SIGKILL);
  if (!r.wait(milliseconds(10000))) {
    fail("receiver " + std::to_string(receivers_.size() - 1) + " survived SIGKILL");
    return false;
  }
  std::this_thread::sleep_for(milliseconds(o_.down_ms));
  return start_receiver();
}

void Soak::sample_rss() {
  const int64_t kib = vm_rss_kib(agent_->pid());
  if (kib < 0) return;
  rss_final_ = kib;
  rss_max_ = std::max(rss_max_, kib);
}

int Soak::run() {
  write_config();
  if (!start_receiver()) return finish(false);
  std::vector<std::string> argv{o_.agent, "--config", path("agent.toml"), "--plugin-dir",
                                o_.plugin_dir};
  if (o_.scripted) argv.insert(argv.end(), {"--plugin-dir", o_.fixture_dir});
  agent_ = std::make_unique<soak::Child>(argv, path("agent.out"), path("agent.err"));
  if (!wait_for(
          [&] {
            return soak::read_file(receivers_[0]->err_path()).find("connection #1") !=
                   std::string::npos;
          },
          milliseconds(15000))) {
    fail("the agent did not connect to the receiver: " + soak::read_file(path("agent.err")));
    return finish(false);
  }

  std::fprintf(stderr, "soak: agent pid %d, working directory %s; storm for %.0f s\n",
               agent_->pid(), dir_.c_str(), o_.duration_s);
  soak::Storm storm({.workers = o_.workers, .rate = o_.rate, .exec_every = o_.exec_every}, dir_);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(o_.duration_s));
  const auto restart_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(o_.restart_every_s));
  auto next_sample = t0 + std::chrono::seconds(1);
  auto next_restart = t0 + restart_every;
  bool ok = true;
  while (ok && !g_interrupted && Clock::now() < end) {
    const auto wake = std::min({next_sample, next_restart, end});
    // Short sleeps so a Ctrl-C ends the storm promptly (and the check still runs).
    std::this_thread::sleep_until(std::min(wake, Clock::now() + milliseconds(100)));
    const auto now = Clock::now();
    if (now >= next_sample) {
      sample_rss();
      next_sample += std::chrono::seconds(1);
    }
    if (now >= next_restart && now < end) {
      ok = restart_receiver();
      next_restart += restart_every;
    }
    if (!agent_->running()) {
      fail("the agent exited during the storm: " + soak::read_file(path("agent.err")));
      ok = false;
    }
  }
  soak::StormStarts starts;
  std::string storm_error;
  if (!storm.stop(starts, storm_error)) fail(storm_error);
  storm_s_ = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!ok) return finish(false);

  // Drained: the receiver's output has nearly stopped growing (the guest's other processes
  // keep a trickle going). Not needed for exactness (the shutdown flush and "left at exit"
  // cover the rest); it makes the final RSS an after-the-storm figure.
  std::fprintf(stderr, "soak: storm stopped after %.1f s; draining\n", storm_s_);
  const std::string out = receivers_.back()->out_path();
  int quiet = 0;
  const auto drain_deadline = Clock::now() + std::chrono::seconds(60);
  for (uint64_t last = file_size(out); Clock::now() < drain_deadline && quiet < 2;) {
    std::this_thread::sleep_for(milliseconds(500));
    sample_rss();
    const uint64_t now = file_size(out);
    quiet = now - last < uint64_t{64} * 1024 ? quiet + 1 : 0;
    last = now;
  }
  drained_ = quiet >= 2;

  agent_->signal(SIGTERM);
  const auto agent_rc = agent_->wait(milliseconds(60000));
  if (!agent_rc) {
    fail("the agent did not exit within 60 s of SIGTERM");
    return finish(false);
  }
  if (*agent_rc != 0) fail("the agent exited with " + std::to_string(*agent_rc));
  const rusage& ru = agent_->usage();
  agent_cpu_s_ = double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  soak::Child& last = *receivers_.back();
  last.signal(SIGTERM);
  const auto recv_rc = last.wait(milliseconds(10000));
  if (recv_rc != 0) fail("the last receiver did not exit 0 on SIGTERM");

  // --- The account ---
  const std::string agent_log = soak::read_file(path("agent.err"));
  const auto vsock = soak::parse_sink_account(agent_log, "sinks.vsock[0]");
  if (!vsock) {
    fail("no per-sink account in the agent's log");
    return finish(false);
  }
  const auto agent_pid = static_cast<uint32_t>(agent_->pid());
  soak::Ledger ledger;
  for (size_t i = 0; i < receivers_.size(); ++i) {
    std::ifstream in(receivers_[i]->out_path());
    ledger.add_receiver_output(in, i + 1 < receivers_.size());
    // Killed receivers print no summary: each refusal has its own line.
    rejected_ += count_of(soak::read_file(receivers_[i]->err_path()), "rejected frame");
  }
  const soak::Tally t = ledger.tally(agent_pid, starts, soak::kStormComm);

  if (vsock->queued != vsock->taken + vsock->dropped + vsock->left) {
    fail("the agent's own account does not add up (queued != taken + dropped + left)");
  }
  if (t.events + t.core_dropped != vsock->queued - vsock->left) {
    fail("received unique events + dropped (core) != queued - left at exit");
  }
  if (t.events != vsock->taken) fail("received unique events != taken by the sink");
  if (t.core_dropped != vsock->dropped) fail("dropped_count on the wire != the core's count");
  if (rejected_ != 0) fail(std::to_string(rejected_) + " frame(s) rejected by a receiver");
  if (t.malformed_lines != 0) fail(std::to_string(t.malformed_lines) + " malformed output line(s)");
  if (t.conflicting_duplicates != 0) fail("duplicates that differ in dropped_count");
  if (t.scripted_missing > t.core_dropped) {
    fail("scripted seqs missing beyond what the core reported dropped");
  }
  if (o_.rss_limit_kib > 0 && rss_max_ > o_.rss_limit_kib) {
    fail("agent VmRSS reached " + std::to_string(rss_max_) + " KiB, over the limit of " +
         std::to_string(o_.rss_limit_kib));
  }
  if (agent_log.find(" disabled: ") != std::string::npos) fail("a plugin was disabled");
  print_table(t, *vsock, starts, agent_log);
  return finish(true);
}

void Soak::print_table(const soak::Tally& t, const soak::SinkAccount& vsock,
                       const soak::StormStarts& starts, const std::string& agent_log) const {
  std::smatch m;
  std::string resent = "?";
  if (std::regex_search(agent_log, m,
                        std::regex(R"(sinks\.vsock\[0\]: stopping: (\d+) frames? over (\d+) )"
                                   R"(connections?, (\d+) frames? sent again)"))) {
    resent = m[3].str() + " (over " + m[2].str() + " connections)";
  }
  std::string kinds;
  for (const auto& [source, n] : t.by_source) {
    kinds += (kinds.empty() ? "" : ", ") + source + " " + std::to_string(n);
  }
  const auto row = [](const std::string& k, const std::string& v) {
    std::printf("| %s | %s |\n", k.c_str(), v.c_str());
  };
  const auto u = [](uint64_t n) { return std::to_string(n); };
  char buf[256];
  std::printf("| figure | value |\n|---|---|\n");
  std::snprintf(buf, sizeof buf, "%.1f s (receiver restarted every %g s, down %d ms each time)",
                storm_s_, o_.restart_every_s, o_.down_ms);
  row("storm duration", buf);
  row("processes started by the storm",
      u(starts.total) + " (" + per_second(double(starts.total), storm_s_) + "; " +
          u(starts.total_execed) + " exec'd /bin/true, the rest vfork+_exit)");
  row("events produced (queued for the vsock sink)",
      u(vsock.queued) + " (" + per_second(double(vsock.queued), storm_s_) + ")");
  row("received, unique events", u(t.events) + " (" + kinds + ")");
  row("frames printed by all receivers", u(t.lines));
  row("duplicates (sent again after a restart)", u(t.duplicates));
  row("lines cut short by a SIGKILL mid-write (sent again whole)", u(t.cut_last_lines));
  row("dropped by the core (dropped_count on the wire)",
      u(t.core_dropped) + " in " + u(t.core_reports) + " report(s); the agent counted " +
          u(vsock.dropped));
  row("left in the queue at exit", u(vsock.left));
  const bool exact = t.events + t.core_dropped == vsock.queued - vsock.left;
  row("**received + dropped = queued - left**",
      u(t.events) + " + " + u(t.core_dropped) + " = " + u(t.events + t.core_dropped) + " vs " +
          u(vsock.queued) + " - " + u(vsock.left) + " = " + u(vsock.queued - vsock.left) +
          (exact ? ": **exact**" : ": **MISMATCH**"));
  row("rejected frames (torn or malformed)",
      u(rejected_) + " (malformed output lines " + u(t.malformed_lines) + ")");
  row("receiver restarts (SIGKILL)", u(receivers_.size() - 1));
  row("frames the sink sent again after a lost connection", resent);
  row("kernel-side loss (process probe's process.lost)",
      u(t.probe_dropped) + " event(s) in " + u(t.probe_reports) + " report(s)");
  row("storm processes reported spawned / exec / exited",
      percent(t.storm_spawned, starts.total) + " / " + percent(t.storm_exec, starts.total_execed) +
          " / " + percent(t.storm_exited, starts.total));
  if (o_.scripted) {
    row("scripted sequence: highest / missing", u(t.scripted_max) + " / " + u(t.scripted_missing));
  }
  std::snprintf(buf, sizeof buf, "%" PRId64 " / %" PRId64, rss_max_, rss_final_);
  row("agent VmRSS max / final (KiB)", buf);
  std::snprintf(buf, sizeof buf, "%.2f s (%.1f%% of one CPU over the storm; %.2f s per 1M events)",
                agent_cpu_s_, storm_s_ > 0 ? 100.0 * agent_cpu_s_ / storm_s_ : 0.0,
                vsock.queued ? agent_cpu_s_ * 1e6 / double(vsock.queued) : 0.0);
  row("agent CPU (user + system)", buf);
  if (!drained_) std::printf("\nnote: the stream was still flowing 60 s after the storm\n");
}

int Soak::finish(bool checked) {
  if (failures_.empty() && checked) {
    std::printf("\nresult: PASS (accounting exact, no frame rejected)\n");
  } else {
    std::printf("\nresult: FAIL\n");
    for (const auto& f : failures_) std::printf("  - %s\n", f.c_str());
  }
  // Stop whatever still runs before the files go.
  agent_.reset();
  receivers_.clear();
  const bool pass = failures_.empty() && checked;
  if (pass && !o_.keep) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } else {
    std::printf("working directory kept: %s\n", dir_.c_str());
  }
  return pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse_options(argc, argv, o)) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "cellos-telemetry-soak: needs root (the kernel's process connector); "
                 "skipped\n");
    return kExitSkip;
  }
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (o.scripted && !fs::exists(o.fixture_dir + "/probe-scripted.so")) {
    // A build without the tests has no fixtures; the check stands without the sequence.
    std::fprintf(stderr,
                 "cellos-telemetry-soak: no %s/probe-scripted.so; running without the "
                 "scripted sequence (--fixture-dir to use another build's)\n",
                 o.fixture_dir.c_str());
    o.scripted = false;
  }
  try {
    Soak s(o);
    return s.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cellos-telemetry-soak: %s\n", e.what());
    return 1;
  }
}
