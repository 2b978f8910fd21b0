// Which processes an output shows: all, a subtree (--pid), the failed ones with their
// ancestors (--failed), or both (the failed ones within the subtree, with their ancestors up to
// its root).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "process_ledger.hpp"

namespace cellos::telemetry::tree {

struct Selection {
  std::optional<uint32_t> pid;  // every process that held this pid, with its descendants
  bool failed_only = false;
};

// One flag per process (Ledger::processes() order). Empty when --pid matched no process.
std::vector<bool> select(const Ledger& ledger, const Selection& s);

// The shown processes whose parent is not shown: where the printed forest starts.
std::vector<size_t> shown_roots(const Ledger& ledger, const std::vector<bool>& shown);

}  // namespace cellos::telemetry::tree
