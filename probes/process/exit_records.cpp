#include "exit_records.hpp"

#include <algorithm>
#include <cstring>

namespace cellos::telemetry::process {

void ExitRecords::add(uint32_t pid, std::string_view comm, const ExitAccounting* accounting) {
  while (held_ >= capacity_ && !order_.empty()) {
    const Record& front = order_.front();
    if (!front.released) {
      ++evicted_;
      release(front.pid);  // the front is the oldest for its pid
    }
    while (!order_.empty() && order_.front().released) order_.pop_front();
  }
  Record r{pid, false, accounting != nullptr, {}, accounting ? *accounting : ExitAccounting{}};
  std::memcpy(r.comm, comm.data(), std::min(comm.size(), sizeof r.comm - 1));
  order_.push_back(r);
  ++count_[pid];
  ++held_;
}

const ExitRecords::Record* ExitRecords::oldest_record(uint32_t pid) const {
  if (!holds(pid)) return nullptr;
  for (const Record& r : order_) {
    if (r.pid == pid && !r.released) return &r;
  }
  return nullptr;
}

std::optional<std::string> ExitRecords::oldest(uint32_t pid) const {
  const Record* r = oldest_record(pid);
  if (!r) return std::nullopt;
  return std::string(r->comm, strnlen(r->comm, sizeof r->comm));
}

std::optional<ExitAccounting> ExitRecords::oldest_accounting(uint32_t pid) const {
  const Record* r = oldest_record(pid);
  if (!r || !r->has_accounting) return std::nullopt;
  return r->accounting;
}

bool ExitRecords::release(uint32_t pid) {
  const auto it = count_.find(pid);
  if (it == count_.end()) return false;
  // Exits are handled in about the order their records arrived, so this is near the front.
  for (Record& r : order_) {
    if (r.pid == pid && !r.released) {
      r.released = true;
      break;
    }
  }
  if (--it->second == 0) count_.erase(it);
  --held_;
  while (!order_.empty() && order_.front().released) order_.pop_front();
  return true;
}

void ExitRecords::clear() {
  order_.clear();
  count_.clear();
  held_ = 0;
}

}  // namespace cellos::telemetry::process
