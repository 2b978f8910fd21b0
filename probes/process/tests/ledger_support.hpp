// Reading the process ledger's extras back from what the capture sink wrote, and children made
// for ledger tests (a given argv, uid, exit).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "e2e_support.hpp"

namespace cellos::telemetry::process::testing {

// An unsigned extra, or nullopt when absent (or of another type).
std::optional<uint64_t> u(const t::Captured& e, const std::string& key);
// A boolean extra: true, false, or nullopt when absent.
std::optional<bool> b(const t::Captured& e, const std::string& key);
// A text extra, decoded from the capture's hex.
std::optional<std::string> text(const t::Captured& e, const std::string& key);
// A list-of-text extra.
std::optional<std::vector<std::string>> list(const t::Captured& e, const std::string& key);

// The frame the wire encoder makes of this event (the vsock sink's): its size in bytes, and
// whether it had to cut extras to stay within 4096 bytes of body.
struct FrameSize {
  size_t bytes = 0;
  bool truncated = false;
};
FrameSize frame_size(const t::Captured& e);

// Every captured event about pid whose process_id is id (or any id, when id is 0).
std::vector<t::Captured> events_about(const Agent& agent, pid_t pid, uint64_t id = 0);

// fork + execv(argv[0], argv); the pid, to be reaped with t::wait_pid.
pid_t spawn_exec(const std::vector<std::string>& argv);

// /proc/PID facts for comparing with the initial snapshot.
struct ProcFacts {
  uint32_t ppid = 0;
  uint64_t start_ticks = 0;
  std::string exe, cwd;
  std::vector<std::string> argv;
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
};
std::optional<ProcFacts> proc_facts(pid_t pid);

}  // namespace cellos::telemetry::process::testing
