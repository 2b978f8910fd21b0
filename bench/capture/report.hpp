// Scoring what an observer reported about the workload, and the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observer.hpp"
#include "workload.hpp"

namespace capture_bench {

// One line of the capturing sink's file (tests/fixtures/capture_sink.cpp).
struct CapturedEvent {
  std::string source;
  uint32_t pid = 0;
  std::string comm;
  uint64_t ns = 0;
};
std::vector<CapturedEvent> read_capture(const std::string& path);

// One observer's results, summed over rounds.
struct Row {
  std::string observer;
  size_t processes = 0;
  size_t spawned = 0, exec = 0, exited = 0, all_three = 0;
  bool comm_checked = true;          // forkstat prints command lines, not comm
  std::vector<double> latencies_us;  // fork -> process.spawned, every process reported
  size_t events = 0;                 // events reported about the workload's processes
  std::vector<CpuTime> cpu;          // used during each round's workload
  std::vector<size_t> round_events;  // events reported in each round

  void add(const Row& round, const CpuTime& used);
  // CPU seconds per 10,000 reported events, per round, in order.
  std::vector<double> cpu_per_10k() const;
};

// exec counts only with comm "true"; all_three needs exited with comm "true" as well.
Row score_capture(const std::string& name, const std::vector<Spawn>& spawns,
                  const std::vector<CapturedEvent>& events);
// forkstat's lines: "HH:MM:SS fork PID child ...", "... exec PID ...", "... exit PID ...";
// its name for a process is the command line it printed, right if it is /bin/true (or true).
Row score_forkstat(const std::string& name, const std::vector<Spawn>& spawns,
                   const std::string& output);

double median(std::vector<double> v);
std::string markdown_table(const std::vector<Row>& rows);

}  // namespace capture_bench
