// Exact loss counting for the process connector: every message the kernel sends on it carries a
// sequence number (cn_msg.seq) counted per CPU (proc_event.cpu), for every message of every kind
// (acknowledgements included), whether or not any listener has room for it. So a listener that
// receives seq 7 then seq 10 from one CPU knows that exactly 2 messages from that CPU were lost
// in between, whatever the other CPUs sent interleaved with them. ENOBUFS only says "some".
//
// What it cannot see, by construction:
// - losses before the first message received from a CPU (the baseline: the counter started
//   long before the listener, so the first number says nothing about what preceded it);
// - losses after the last message received from a CPU, until the next message from that CPU
//   arrives and closes the gap (then they are counted, late but exactly).
// The kernel keeps each CPU's messages in order (it sends them under a per-CPU lock), so a
// number at or behind the expected one never happens; if it did (a counter reset), it is taken
// as a new baseline and counted in rebased(), not as 4 billion losses. The 32-bit counter wraps:
// the arithmetic is modulo 2^32, so 0xffffffff followed by 0 is no gap.
#pragma once

#include <cstdint>
#include <vector>

namespace cellos::telemetry::process {

class SeqGaps {
 public:
  // CPU numbers at or above this are not tracked (counted in untracked()); the kernel's NR_CPUS
  // ceiling is 8192.
  static constexpr uint32_t kMaxCpus = 8192;

  // One received message: how many messages from this CPU were lost just before it.
  uint64_t observe(uint32_t cpu, uint32_t seq);

  uint64_t lost() const { return lost_; }            // total so far
  uint64_t rebased() const { return rebased_; }      // numbers behind the expected one
  uint64_t untracked() const { return untracked_; }  // messages from CPUs >= kMaxCpus

 private:
  struct Cpu {
    bool seen = false;
    uint32_t next = 0;  // the number expected next
  };
  std::vector<Cpu> cpus_;
  uint64_t lost_ = 0, rebased_ = 0, untracked_ = 0;
};

}  // namespace cellos::telemetry::process
