#include "format.hpp"

#include <string.h>  // sigabbrev_np (GNU)

#include <cstdio>
#include <cstdlib>

#include "terminal_text.hpp"

namespace cellos::telemetry::tree {
namespace {

std::string printf_string(const char* fmt, double v, const char* unit) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v, unit);
  return buf;
}

// Three significant digits.
std::string sig3(double v, const char* unit) {
  return printf_string(v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, unit);
}

}  // namespace

std::string format_duration(uint64_t ns) {
  char buf[64];
  if (ns < 1000) {
    std::snprintf(buf, sizeof buf, "%lluns", static_cast<unsigned long long>(ns));
    return buf;
  }
  if (ns < 1000000) return sig3(ns / 1e3, "µs");
  if (ns < 1000000000) return sig3(ns / 1e6, "ms");
  if (ns < 60000000000ULL) return sig3(ns / 1e9, "s");
  const uint64_t s = (ns + 500000000) / 1000000000;
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60));
  }
  return buf;
}

std::string format_offset(int64_t ns) {
  char buf[64];
  const uint64_t mag = ns < 0 ? uint64_t(0) - uint64_t(ns) : uint64_t(ns);
  const uint64_t ms = (mag + 500000) / 1000000;
  // What rounds to zero is "+0.000s", never "-0.000s".
  std::snprintf(buf, sizeof buf, "%c%llu.%03llus", ns < 0 && ms > 0 ? '-' : '+',
                static_cast<unsigned long long>(ms / 1000),
                static_cast<unsigned long long>(ms % 1000));
  return buf;
}

std::string format_kib(uint64_t kib) {
  if (kib < 1024) return std::to_string(kib) + " KiB";
  if (kib < 1024 * 1024) return printf_string("%.1f%s", kib / 1024.0, " MiB");
  return printf_string("%.2f%s", kib / (1024.0 * 1024.0), " GiB");
}

std::string status_text(const Process& p) {
  if (!p.exited) return "running";
  if (p.signal) {
    const char* abbrev = *p.signal < 65 ? sigabbrev_np(static_cast<int>(*p.signal)) : nullptr;
    std::string s = abbrev ? std::string("killed by SIG") + abbrev
                           : "killed by signal " + std::to_string(*p.signal);
    return p.core_dumped ? s + ", core dumped" : s;
  }
  if (p.exit_code) return "exit " + std::to_string(*p.exit_code);
  return "ended, status unknown";
}

std::string process_label(const Process& p) {
  if (p.argv && !p.argv->empty()) return quote_argv(*p.argv);
  if (p.exe) return safe_name(*p.exe);
  return safe_name(p.comm);
}

std::string markers_text(const Process& p) {
  std::string out;
  auto add = [&](const char* m) {
    out += out.empty() ? "[" : ", ";
    out += m;
  };
  if (p.initial) add("initial");
  if (p.raced) add("raced");
  if (p.argv_truncated) add("argv truncated");
  if (p.oom_killed) add("OOM-killed");
  if (p.segfault) add("segfault");
  if (p.start_unseen) {
    add("start not seen");
  } else if (p.lost_spawn) {
    add("start seen by a resync");
  }
  if (p.lost_exit) add("end seen by a resync");
  if (!out.empty()) out += "]";
  return out;
}

std::optional<uint64_t> run_time_ns(const Process& p) {
  if (p.duration_ns) return p.duration_ns;
  if (p.exited && !p.lost_exit && p.start_ns && p.end_ns && *p.end_ns >= *p.start_ns) {
    return *p.end_ns - *p.start_ns;
  }
  return std::nullopt;
}

std::string summary_text(const Ledger& ledger, const std::vector<bool>& shown) {
  size_t total = ledger.processes().size(), running = 0, failed = 0, n_shown = 0;
  for (size_t i = 0; i < total; ++i) {
    const Process& p = ledger.processes()[i];
    running += !p.exited;
    failed += p.failed();
    n_shown += i < shown.size() && shown[i];
  }
  uint64_t lost = 0;
  for (const auto& l : ledger.lost()) lost += l.count;
  std::string s = std::to_string(total) + (total == 1 ? " process, " : " processes, ") +
                  std::to_string(running) + " running, " + std::to_string(failed) + " failed";
  if (!ledger.lost().empty()) s += ", " + std::to_string(lost) + " kernel events lost";
  if (n_shown != total) s += "; " + std::to_string(n_shown) + " shown";
  return s;
}

std::string lost_text(const Ledger& ledger, const LostEvents& lost) {
  return "! " +
         format_offset(static_cast<int64_t>(lost.ns) - static_cast<int64_t>(ledger.first_ns())) +
         ": " + std::to_string(lost.count) +
         " kernel events lost; a resync followed (what it found is marked)";
}

}  // namespace cellos::telemetry::tree
