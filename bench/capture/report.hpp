// Scoring what an observer reported about the workload, and the table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "observer.hpp"
#include "workload.hpp"

namespace capture_bench {

// One event as an observer reported it: a frame from the vsock sink (host_listener.hpp) or a
// line of the capturing sink's file (tests/fixtures/capture_sink.cpp).
struct CapturedEvent {
  std::string source;
  uint32_t pid = 0;
  std::string comm;
  uint64_t ns = 0;
  bool has_argv = false;  // process.exec with the ledger's argv list
  bool raced = false;     // process.exec with raced = true
};
std::vector<CapturedEvent> read_capture(const std::string& path);

// One observer's results on one workload, summed over rounds.
struct Row {
  std::string observer;
  bool scored = true;        // false: the output is not kept (stdout to /dev/null): CPU only
  bool comm_checked = true;  // forkstat prints command lines, the floor no names
  bool has_latency = true;   // the observer stamps its events on CLOCK_MONOTONIC
  bool has_argv = false;     // the observer reports arguments (the agent, forkstat)
  size_t processes = 0;
  size_t spawned = 0, exec = 0, exited = 0, all_three = 0;
  size_t exec_events = 0, argv_present = 0, raced = 0;
  std::vector<double> latencies_us;        // fork -> process.spawned
  std::vector<double> cpu_us_per_process;  // one per round
  std::vector<double> runs_per_process;    // likewise: times on a CPU (schedstat), per process

  void add(const Row& round, const CpuTime& used);
};

// expected_comm: the name exec gives the workload's processes ("true").
Row score_capture(const std::string& name, const std::vector<Spawn>& spawns,
                  const std::vector<CapturedEvent>& events, const std::string& expected_comm);
// forkstat's lines: "HH:MM:SS fork PID child ...", "... exec PID ...", "... exit PID ...";
// its name for a process is the command line it printed, right if it ends in expected_argv0.
Row score_forkstat(const std::string& name, const std::vector<Spawn>& spawns,
                   const std::string& output, const std::string& expected_argv0);
// The floor observer's lines: "fork PID", "exec PID", "exit PID".
Row score_floor(const std::string& name, const std::vector<Spawn>& spawns,
                const std::string& output);

double median(std::vector<double> v);
// One table per workload; rows in the given order.
std::string markdown_table(const std::string& workload, const std::vector<Row>& rows);

}  // namespace capture_bench
