#include "prefetched_execs.hpp"

namespace cellos::telemetry::process {

ExecRead* PrefetchedExecs::claim(uint32_t pid, uint64_t when) {
  Slot* free = nullptr;
  Slot* oldest = nullptr;
  for (Slot& s : slots_) {
    if (!s.used) {
      if (!free) free = &s;
      continue;
    }
    if (s.pid == pid && s.when == when) return nullptr;
    if (!oldest || s.order < oldest->order) oldest = &s;
  }
  Slot* slot = free ? free : oldest;
  slot->read.dir.reset();  // the one given up keeps no /proc/PID open
  slot->used = true;
  slot->pid = pid;
  slot->when = when;
  slot->order = next_order_++;
  return &slot->read;
}

ExecRead* PrefetchedExecs::take(uint32_t pid, uint64_t when) {
  for (Slot& s : slots_) {
    if (s.used && s.pid == pid && s.when == when) {
      s.used = false;
      return &s.read;
    }
  }
  return nullptr;
}

void PrefetchedExecs::clear() {
  for (Slot& s : slots_) {
    s.used = false;
    s.read.dir.reset();
  }
}

size_t PrefetchedExecs::held() const {
  size_t n = 0;
  for (const Slot& s : slots_) n += s.used ? 1 : 0;
  return n;
}

}  // namespace cellos::telemetry::process
