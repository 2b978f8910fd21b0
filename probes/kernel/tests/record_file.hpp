// Recorded /dev/kmsg records (tests/records/*.txt) and what KernelEvents makes of them.
//
// A file holds reads as the device returned them, one after another: a record starts at a line
// not starting with a space, and the lines after it that do are its continuation lines. The
// files were read from this kernel (Linux 6.18.44, Firecracker guest) while the test workloads
// ran: a segfault, three traps, an OOM kill in a v1 memory cgroup limited to 32 MiB, boot
// records with SUBSYSTEM/DEVICE continuations, and records written to /dev/kmsg by root. Only
// hung_task_and_warning.txt is written by hand, in the formats of kernel/hung_task.c,
// kernel/panic.c (__warn), arch/x86/mm/fault.c and lib/bug.c: those need a broken kernel.
#pragma once

#include <cellos/telemetry/sdk.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cellos::telemetry::kernel::testing {

std::vector<std::string> read_records(const std::string& name);  // tests/records/NAME

// One emitted event, every extra as text: unsigned and negative numbers in decimal, text as it is.
struct Seen {
  std::string source;
  uint32_t pid = 0;
  std::string comm;
  std::map<std::string, std::string> extras;
  std::vector<std::string> keys;  // in order
};
Seen seen(const ct_event& e);

}  // namespace cellos::telemetry::kernel::testing
