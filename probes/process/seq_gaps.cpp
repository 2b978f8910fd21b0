#include "seq_gaps.hpp"

namespace cellos::telemetry::process {

uint64_t SeqGaps::observe(uint32_t cpu, uint32_t seq) {
  if (cpu >= kMaxCpus) {
    ++untracked_;
    return 0;
  }
  if (cpu >= cpus_.size()) cpus_.resize(cpu + 1);
  Cpu& c = cpus_[cpu];
  const uint32_t expected = c.next;
  const bool first = !c.seen;
  c.seen = true;
  c.next = seq + 1;  // wraps with the kernel's counter
  if (first) return 0;
  // Ahead of the expected number by less than half the counter's range: that many were lost.
  // Half or more ahead is read as behind (mod 2^32): the kernel never goes back, so it restarted.
  const uint32_t ahead = seq - expected;
  if (ahead >= 0x80000000u) {
    ++rebased_;
    return 0;
  }
  lost_ += ahead;
  return ahead;
}

}  // namespace cellos::telemetry::process
