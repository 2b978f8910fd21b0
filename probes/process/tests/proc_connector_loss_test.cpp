// Exact loss counting against the real kernel: a ProcConnector with the smallest queue loses
// most of a fork storm, while an independent witness (its own socket, with room for everything)
// records every message the kernel sent; the numbers the witness saw and the small queue did not
// are exactly the loss the connector must count.
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <map>
#include <set>

#include "e2e_support.hpp"
#include "proc_connector.hpp"

namespace cp = cellos::telemetry::process;
namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;
using cp::ProcEvent;

TEST(ProcessConnectorLoss, LostCountEqualsTheNumbersAWitnessSawAndTheSmallQueueMissed) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root: SO_RCVBUFFORCE for the witness's queue";
  pt::ConnectorWitness witness;   // first, so it holds every number the small queue could
  cp::ProcConnector small(1024);  // the kernel's floor: room for about two messages
  std::map<uint32_t, std::set<uint32_t>> got;  // cpu -> numbers the small queue delivered
  uint64_t reported = 0;
  bool overflowed = false;
  const auto drain = [&] {
    const auto d = small.drain([&](const ProcEvent& e) { got[e.cpu].insert(e.seq); }, 1u << 20);
    reported += d.lost;
    overflowed = overflowed || d.overflowed;
  };

  pt::fork_on_each_cpu();  // a baseline from every CPU
  drain();
  for (int i = 0; i < 100; ++i) pt::fork_on_each_cpu();  // about 400 messages, none read
  drain();
  // Messages lost after the last one delivered from a CPU are a gap only once the next one
  // from that CPU arrives. One ping per CPU into the emptied queue closes them (a fork would
  // send two, enough to overflow this queue again).
  ASSERT_TRUE(witness.read()) << "the witness itself lost messages: no verdict";
  std::map<uint32_t, uint32_t> storm_end;  // cpu -> the last number the storm left there
  for (const auto& m : witness.messages()) storm_end[m.cpu] = m.seq;
  const auto closed = [&] {
    for (const auto& [cpu, numbers] : got) {
      if (storm_end.count(cpu) && *numbers.rbegin() <= storm_end[cpu]) return false;
    }
    return true;
  };
  for (int attempt = 0; attempt < 100 && !closed(); ++attempt) {
    for (const auto& [cpu, numbers] : got) {
      pt::ping_each_cpu({static_cast<int>(cpu)});
      drain();
    }
  }
  ASSERT_TRUE(closed()) << "no message after the storm reached the small queue from every CPU";
  ASSERT_TRUE(witness.read()) << "the witness itself lost messages: no verdict";

  // Between the first and last number the small queue got from each CPU, the witness saw every
  // number (it lost none); those the small queue did not get were lost to it.
  std::map<uint32_t, std::set<uint32_t>> seen;
  for (const auto& m : witness.messages()) seen[m.cpu].insert(m.seq);
  uint64_t expected = 0;
  for (const auto& [cpu, numbers] : got) {
    const uint32_t lo = *numbers.begin(), hi = *numbers.rbegin();
    for (uint32_t s = lo; s <= hi; ++s) {
      ASSERT_TRUE(seen[cpu].count(s)) << "cpu " << cpu << " seq " << s << " unseen by the witness";
      expected += numbers.count(s) == 0;
    }
  }
  EXPECT_TRUE(overflowed);
  EXPECT_GT(expected, 100u);  // most of the storm (the queue holds about two)
  EXPECT_EQ(small.gaps().lost(), expected);
  EXPECT_EQ(reported, expected);  // and every loss shows in some drain's count
  EXPECT_EQ(small.gaps().rebased(), 0u);
}

// After a loss the probe asks every CPU for a message, so that losses after each CPU's last one
// are counted at once; each answer comes from the CPU asked, with its next number. A queue too
// small to take the answers is not asked: they would overflow it, and the loss they revealed
// would call for another resync and another ask for ever (seen with receive_buffer_kib = 1, a
// loss counted every 50 ms on an idle guest).
TEST(ProcessConnectorLoss, EveryCpuAnswersAndASmallQueueIsNotAsked) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  cp::ProcConnector small(1024);
  EXPECT_EQ(small.ask_every_cpu(), 0u);
  cp::ProcConnector roomy(4 << 20);
  ASSERT_EQ(roomy.ask_every_cpu(), static_cast<size_t>(CPU_COUNT(&allowed)));
  std::set<uint32_t> answered;  // CPUs an acknowledgement came from
  ASSERT_TRUE(t::eventually([&] {
    roomy.drain([&](const ProcEvent& e) { answered.insert(e.cpu); }, 1u << 20);
    return answered.size() == static_cast<size_t>(CPU_COUNT(&allowed));
  })) << answered.size()
      << " CPUs answered";
  // The thread runs where it did before.
  cpu_set_t now;
  CPU_ZERO(&now);
  ASSERT_EQ(sched_getaffinity(0, sizeof now, &now), 0);
  EXPECT_TRUE(CPU_EQUAL(&now, &allowed));
}
