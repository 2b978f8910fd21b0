#include "process_table.hpp"

#include <algorithm>

namespace cellos::telemetry::process {

const char* probe_source(Change c) {
  switch (c) {
    case Change::kSpawned:
      return "process.spawned";
    case Change::kExec:
      return "process.exec";
    case Change::kExited:
      return "process.exited";
  }
  return "process.unknown";
}

ProcessTable::ProcessTable(size_t capacity) : capacity_(capacity) {
  // A typical guest runs tens to hundreds of processes; reserving for those avoids rehashing
  // in steady state without committing memory for the worst case.
  map_.reserve(std::min<size_t>(capacity_, 1024));
}

ProcessEntry* ProcessTable::find(uint32_t pid) {
  const auto it = map_.find(pid);
  return it == map_.end() ? nullptr : &it->second;
}

ProcessEntry* ProcessTable::insert(uint32_t pid, ProcessEntry entry) {
  const auto it = map_.find(pid);
  if (it != map_.end()) {
    it->second = std::move(entry);
    return &it->second;
  }
  if (map_.size() >= capacity_) {
    ++untracked_;
    return nullptr;
  }
  return &map_.emplace(pid, std::move(entry)).first->second;
}

}  // namespace cellos::telemetry::process
