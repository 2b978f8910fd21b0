#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace capture_bench {
namespace {

struct Seen {
  bool spawned = false, exec = false, exited = false;
  bool exec_right = false, exited_right = false;
  uint64_t spawned_ns = 0;
};

std::string pct(size_t n, size_t of) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", of ? 100.0 * static_cast<double>(n) / of : 0.0);
  return buf;
}

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::optional<double> percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string list(const std::vector<double>& v, int decimals) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ", ") + fixed(x, decimals);
  return s;
}

Row tally(const std::string& name, const std::vector<Spawn>& spawns,
          const std::unordered_map<uint32_t, Seen>& seen, bool comm_checked) {
  Row r;
  r.observer = name;
  r.processes = spawns.size();
  r.comm_checked = comm_checked;
  for (const Spawn& s : spawns) {
    const auto it = seen.find(static_cast<uint32_t>(s.pid));
    if (it == seen.end()) continue;
    const Seen& x = it->second;
    r.spawned += x.spawned;
    r.exec += comm_checked ? x.exec_right : x.exec;
    r.exited += x.exited;
    r.events += size_t{x.spawned} + x.exec + x.exited;
    r.all_three +=
        x.spawned && x.exec && x.exited && (!comm_checked || (x.exec_right && x.exited_right));
    if (x.spawned && x.spawned_ns) {
      r.latencies_us.push_back(static_cast<double>(x.spawned_ns - s.fork_ns) / 1000.0);
    }
  }
  return r;
}

}  // namespace

double median(std::vector<double> v) {
  return percentile(std::move(v), 0.5).value_or(0.0);
}

void Row::add(const Row& round, const CpuTime& used) {
  observer = round.observer;
  comm_checked = round.comm_checked;
  processes += round.processes;
  spawned += round.spawned;
  exec += round.exec;
  exited += round.exited;
  all_three += round.all_three;
  latencies_us.insert(latencies_us.end(), round.latencies_us.begin(), round.latencies_us.end());
  events += round.events;
  cpu.push_back(used);
  round_events.push_back(round.events);
}

std::vector<double> Row::cpu_per_10k() const {
  std::vector<double> v;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double s = static_cast<double>(cpu[i].on_cpu_ns) / 1e9;
    v.push_back(round_events[i] ? s * 10000.0 / static_cast<double>(round_events[i]) : 0.0);
  }
  return v;
}

std::vector<CapturedEvent> read_capture(const std::string& path) {
  std::vector<CapturedEvent> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string source, pid, hex, ns;
    if (!std::getline(f, source, '\t') || !std::getline(f, pid, '\t') ||
        !std::getline(f, hex, '\t') || !std::getline(f, ns, '\t')) {
      continue;
    }
    CapturedEvent e;
    e.source = source;
    e.pid = static_cast<uint32_t>(std::stoul(pid));
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      e.comm.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    e.ns = std::stoull(ns);
    out.push_back(std::move(e));
  }
  return out;
}

Row score_capture(const std::string& name, const std::vector<Spawn>& spawns,
                  const std::vector<CapturedEvent>& events) {
  std::unordered_map<uint32_t, Seen> seen;
  for (const Spawn& s : spawns) seen[static_cast<uint32_t>(s.pid)];
  for (const CapturedEvent& e : events) {
    const auto it = seen.find(e.pid);
    if (it == seen.end()) continue;
    Seen& x = it->second;
    if (e.source == "process.spawned" && !x.spawned) {
      x.spawned = true;
      x.spawned_ns = e.ns;
    } else if (e.source == "process.exec") {
      x.exec = true;
      x.exec_right = x.exec_right || e.comm == "true";
    } else if (e.source == "process.exited") {
      x.exited = true;
      x.exited_right = x.exited_right || e.comm == "true";
    }
  }
  return tally(name, spawns, seen, true);
}

Row score_forkstat(const std::string& name, const std::vector<Spawn>& spawns,
                   const std::string& output) {
  std::unordered_map<uint32_t, Seen> seen;
  for (const Spawn& s : spawns) seen[static_cast<uint32_t>(s.pid)];
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string time, event, pid, info;
    if (!(f >> time >> event >> pid)) continue;
    f >> info;
    uint32_t p = 0;
    try {
      p = static_cast<uint32_t>(std::stoul(pid));
    } catch (...) {
      continue;  // the header
    }
    const auto it = seen.find(p);
    if (it == seen.end()) continue;
    // The process column is the command line forkstat read from /proc ("<unknown>" once the
    // process is gone): right when it names /bin/true.
    while (!line.empty() && line.back() == ' ') line.pop_back();
    const bool right = line.ends_with(" /bin/true") || line.ends_with(" true");
    Seen& x = it->second;
    if (event == "fork" && info == "child") x.spawned = true;
    if (event == "exec") {
      x.exec = true;
      x.exec_right = x.exec_right || right;
    }
    if (event == "exit") {
      x.exited = true;
      x.exited_right = x.exited_right || right;
    }
  }
  return tally(name, spawns, seen, true);
}

std::string markdown_table(const std::vector<Row>& rows) {
  std::string t =
      "| observer | processes | spawned | exec (comm `true`) | exited | all three, right comm "
      "| fork→spawned median | fork→spawned p99 | events reported | CPU s / 10k events, median "
      "(each round) "
      "| utime+stime ticks (each round) |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    const auto med = percentile(r.latencies_us, 0.5);
    const auto p99 = percentile(r.latencies_us, 0.99);
    std::string ticks;
    for (const CpuTime& c : r.cpu) ticks += (ticks.empty() ? "" : ", ") + std::to_string(c.ticks);
    const auto per10k = r.cpu_per_10k();
    t += "| " + r.observer + " | " + std::to_string(r.processes) + " | " +
         pct(r.spawned, r.processes) + " | " + pct(r.exec, r.processes) +
         (r.comm_checked ? "" : " (any name)") + " | " + pct(r.exited, r.processes) + " | " +
         (r.comm_checked ? pct(r.all_three, r.processes)
                         : pct(r.all_three, r.processes) + " (names not checked)") +
         " | " + (med ? fixed(*med, 0) + " µs" : "n/a") + " | " +
         (p99 ? fixed(*p99, 0) + " µs" : "n/a") + " | " + std::to_string(r.events) + " | " +
         (r.events ? "**" + fixed(median(per10k), 3) + "** (" + list(per10k, 3) + ")" : "n/a") +
         " | " + ticks + " |\n";
  }
  return t;
}

}  // namespace capture_bench
