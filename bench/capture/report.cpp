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
  size_t exec_events = 0, argv_present = 0, raced = 0;
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
    r.all_three +=
        x.spawned && x.exec && x.exited && (!comm_checked || (x.exec_right && x.exited_right));
    r.exec_events += x.exec_events;
    r.argv_present += x.argv_present;
    r.raced += x.raced;
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
  processes += round.processes;
  spawned += round.spawned;
  exec += round.exec;
  exited += round.exited;
  all_three += round.all_three;
  exec_events += round.exec_events;
  argv_present += round.argv_present;
  raced += round.raced;
  latencies_us.insert(latencies_us.end(), round.latencies_us.begin(), round.latencies_us.end());
  if (round.processes) {
    cpu_us_per_process.push_back(static_cast<double>(used.on_cpu_ns) / 1000.0 /
                                 static_cast<double>(round.processes));
    runs_per_process.push_back(static_cast<double>(used.runs) /
                               static_cast<double>(round.processes));
  }
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
                  const std::vector<CapturedEvent>& events, const std::string& expected_comm) {
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
      x.exec_right = x.exec_right || e.comm == expected_comm;
      ++x.exec_events;
      x.argv_present += e.has_argv;
      x.raced += e.raced;
    } else if (e.source == "process.exited") {
      x.exited = true;
      x.exited_right = x.exited_right || e.comm == expected_comm;
    }
  }
  return tally(name, spawns, seen, true);
}

Row score_forkstat(const std::string& name, const std::vector<Spawn>& spawns,
                   const std::string& output, const std::string& expected_argv0) {
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
    const bool right = line.ends_with(" " + expected_argv0) ||
                       line.find(" " + expected_argv0 + " ") != std::string::npos;
    Seen& x = it->second;
    if (event == "fork" && info == "child") x.spawned = true;
    if (event == "exec") {
      x.exec = true;
      x.exec_right = x.exec_right || right;
      ++x.exec_events;
      x.argv_present += right;  // it read the command line before the process was gone
    }
    if (event == "exit") {
      x.exited = true;
      x.exited_right = x.exited_right || right;
    }
  }
  Row r = tally(name, spawns, seen, true);
  r.has_latency = false;
  r.has_argv = true;
  return r;
}

Row score_floor(const std::string& name, const std::vector<Spawn>& spawns,
                const std::string& output) {
  std::unordered_map<uint32_t, Seen> seen;
  for (const Spawn& s : spawns) seen[static_cast<uint32_t>(s.pid)];
  std::istringstream in(output);
  std::string kind;
  uint32_t pid = 0;
  while (in >> kind >> pid) {
    const auto it = seen.find(pid);
    if (it == seen.end()) continue;
    Seen& x = it->second;
    if (kind == "fork") x.spawned = true;
    if (kind == "exec") {
      x.exec = true;
      ++x.exec_events;
    }
    if (kind == "exit") x.exited = true;
  }
  Row r = tally(name, spawns, seen, false);
  r.has_latency = false;
  return r;
}

std::string markdown_table(const std::string& workload, const std::vector<Row>& rows) {
  std::string t = "| " + workload +
                  " | processes | spawned | exec | exited | all three | exec with argv / "
                  "raced | fork→spawned median / p99 | CPU µs per process, median (min–max) | "
                  "runs on a CPU per process |\n"
                  "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    std::string cpu = "n/a";
    if (!r.cpu_us_per_process.empty()) {
      const auto [lo, hi] =
          std::minmax_element(r.cpu_us_per_process.begin(), r.cpu_us_per_process.end());
      cpu = "**" + fixed(median(r.cpu_us_per_process), 1) + "** (" + fixed(*lo, 1) + "–" +
            fixed(*hi, 1) + ")";
    }
    const std::string runs =
        r.runs_per_process.empty() ? "n/a" : fixed(median(r.runs_per_process), 2);
    const std::string names = r.comm_checked ? "" : " (no names)";
    const auto med = percentile(r.latencies_us, 0.5);
    const auto p99 = percentile(r.latencies_us, 0.99);
    const std::string dash = "—";
    t += "| " + r.observer + " | " + std::to_string(r.processes) + " | ";
    if (!r.scored) {
      t += dash + " | " + dash + " | " + dash + " | " + dash + " | " + dash + " | " + dash + " | " +
           cpu + " | " + runs + " |\n";
      continue;
    }
    t += pct(r.spawned, r.processes) + " | " + pct(r.exec, r.processes) + names + " | " +
         pct(r.exited, r.processes) + " | " + pct(r.all_three, r.processes) + " | " +
         (r.has_argv ? pct(r.argv_present, r.exec_events) + " / " + pct(r.raced, r.exec_events)
                     : dash) +
         " | " + (r.has_latency && med ? fixed(*med, 0) + " / " + fixed(*p99, 0) + " µs" : dash) +
         " | " + cpu + " | " + runs + " |\n";
  }
  return t;
}

}  // namespace capture_bench
