// One identity per process, the same in every event about it and derivable again by an agent
// that restarts: built from what the kernel keeps for the process's whole life, never from a
// counter the agent keeps.
//
//   process_id = start_ticks << 22 | pid
//
// start_ticks is field 22 of /proc/PID/stat (the start time, CLOCK_BOOTTIME in USER_HZ ticks,
// 10 ms). The kernel's pids are below 2^22 (PID_MAX_LIMIT on 64-bit), so the two never overlap,
// and 42 bits of 10 ms ticks last about 1,400 years of uptime. Two processes share an id only
// if one took the other's pid within the same 10 ms tick, which needs the pid counter to wrap
// (4 million pids at most) inside 10 ms.
#pragma once

#include <cstdint>

namespace cellos::telemetry::process {

inline constexpr unsigned kPidBits = 22;

constexpr uint64_t make_process_id(uint32_t pid, uint64_t start_ticks) {
  return start_ticks << kPidBits | (pid & ((1u << kPidBits) - 1));
}

}  // namespace cellos::telemetry::process
