// The figures as people read them, shared by the text and HTML outputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "process_ledger.hpp"

namespace cellos::telemetry::tree {

// 3 significant digits in the largest unit that keeps the number at least 1: 812ns, 1.30ms,
// 810ms, 2.29s; from a minute on, 1m05s and 2h03m.
std::string format_duration(uint64_t ns);
// An offset from the start of the recording, in seconds with millisecond precision: +0.010s,
// -4.880s (a process already running when the agent started).
std::string format_offset(int64_t ns);
// Kibibytes: 900 KiB, 47.1 MiB, 1.25 GiB.
std::string format_kib(uint64_t kib);
// "exit 0", "exit 3", "killed by SIGKILL", "killed by SIGSEGV, core dumped", "running",
// "ended, status unknown".
std::string status_text(const Process& p);
// The label of a process: its quoted argv, else its executable, else its name.
std::string process_label(const Process& p);
// The bracketed notes: initial, raced, OOM-killed, segfault, argv truncated, seen by a resync.
std::string markers_text(const Process& p);

// How long it ran: the kernel's duration, else the span between its events (not when its end was
// only found by a resync, which comes late).
std::optional<uint64_t> run_time_ns(const Process& p);
// "11 processes, 3 running, 4 failed, 12 kernel events lost", and "; 5 shown" when filtered.
std::string summary_text(const Ledger& ledger, const std::vector<bool>& shown);
// "! +2.200s: 12 kernel events lost; a resync followed (what it found is marked)"
std::string lost_text(const Ledger& ledger, const LostEvents& lost);

}  // namespace cellos::telemetry::tree
