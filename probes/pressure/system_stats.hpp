// The figures of system.stats, each parsed from the procfs file the kernel keeps it in:
//
//   /proc/meminfo   "MemTotal:  24684000 kB" and "MemAvailable: ..." (kibibytes)
//   /proc/loadavg   "3.17 1.78 1.87 12/156 25548": load over 1, 5, 15 minutes, then runnable
//                   and existing scheduling entities (threads, as the kernel counts tasks)
//   /proc/stat      "cpu  user nice system idle iowait irq softirq steal guest guest_nice", in
//                   USER_HZ ticks summed over every CPU
//   /proc/uptime    "12345.67 23456.78": seconds since boot, then idle seconds summed over CPUs
//
// Every parser is strict (proc_text.hpp): a file that does not read as expected gives nullopt,
// never a made-up figure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cellos::telemetry::pressure {

struct MemInfo {
  uint64_t total_kib = 0;
  uint64_t available_kib = 0;
};
std::optional<MemInfo> parse_meminfo(std::string_view text);

struct LoadAvg {
  uint64_t load1 = 0, load5 = 0, load15 = 0;  // hundredths
  uint64_t running = 0;                       // runnable tasks now
  uint64_t total = 0;                         // tasks (threads included)
};
std::optional<LoadAvg> parse_loadavg(std::string_view text);

// The aggregate "cpu" line of /proc/stat. guest and guest_nice are already inside user and nice,
// so they are not added again.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};
std::optional<CpuTimes> parse_cpu_times(std::string_view text);

// Busy share of all CPUs between two samples, in hundredths of a percent (0 to 10,000). 0 when
// no tick elapsed or the counters went backwards (they never should).
uint64_t cpu_busy_hundredths(const CpuTimes& before, const CpuTimes& after);

// Whole seconds since boot (the fraction dropped).
std::optional<uint64_t> parse_uptime_s(std::string_view text);

}  // namespace cellos::telemetry::pressure
