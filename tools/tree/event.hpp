// One line of a VM's JSON-lines stream (as cellos-telemetry-recv or the stdout sink print it),
// reduced to the keys the tree reads. The names and meanings are the process ledger's contract
// (probes/process/README.md, issue 12) and the kernel probe's (kernel.oom_kill, kernel.segfault).
// An optional member is one the line did not carry: "absent" never reads as zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cellos::telemetry::tree {

struct Event {
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::optional<std::string> vm;  // the receiver's label of the VM, when it adds one

  std::optional<uint64_t> process_id, parent_id, ppid, start_ns;
  bool initial = false, resync = false;

  std::optional<std::string> exe, cwd;
  std::optional<std::vector<std::string>> argv;
  bool argv_truncated = false, raced = false;
  std::optional<uint64_t> uid, euid, gid, egid;

  std::optional<int64_t> exit_code;
  std::optional<uint64_t> signal;
  bool core_dumped = false;
  std::optional<uint64_t> duration_ns, cpu_user_us, cpu_system_us, max_rss_kib, read_bytes,
      write_bytes;

  std::optional<uint64_t> lost_count;
};

}  // namespace cellos::telemetry::tree
