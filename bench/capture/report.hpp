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

struct Row {
  std::string observer;
  size_t processes = 0;
  size_t spawned = 0, exec = 0, exited = 0, all_three = 0;
  bool comm_checked = true;  // forkstat prints command lines, not comm
  std::optional<double> median_us, p99_us;
  size_t events = 0;  // events reported about the workload's processes
  CpuTime cpu;        // used during the workload
};

// exec counts only with comm "true"; all_three needs exited with comm "true" as well.
Row score_capture(const std::string& name, const std::vector<Spawn>& spawns,
                  const std::vector<CapturedEvent>& events);
// forkstat's lines: "HH:MM:SS fork PID child ...", "... exec PID ...", "... exit PID ...".
Row score_forkstat(const std::string& name, const std::vector<Spawn>& spawns,
                   const std::string& output);

std::string markdown_table(const std::vector<Row>& rows);

}  // namespace capture_bench
