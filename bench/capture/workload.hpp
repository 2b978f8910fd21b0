// The workloads: short-lived processes, one after another, each a fork + exec of /bin/true, or
// of a process of 8 threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace capture_bench {

struct Spawn {
  pid_t pid;
  uint64_t fork_ns;  // CLOCK_MONOTONIC just before fork(): the start of the latency
};

uint64_t monotonic_ns();

// Runs count processes of /bin/true in sequence (each reaped before the next starts), so every
// one has a pid of its own for the run.
std::vector<Spawn> run_true_processes(int count);

// Runs count processes one after another, each a fork + exec of `self --thread-child`: a process
// of 8 threads (thread_child_main) that exits once all have run.
std::vector<Spawn> run_threaded_processes(int count, const std::string& self);
int thread_child_main();

}  // namespace capture_bench
