// The sink queue bounded in bytes (queue_bytes): what a stalled sink may cost, whatever its
// events hold, with every drop counted exactly and the memory of a drained backlog given back.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "sink_queue.hpp"

namespace ct = cellos::telemetry;

namespace {

ct_event ev(uint32_t pid, const char* comm = "worker") {
  return ct_event{sizeof(ct_event), "process.spawned", pid, comm, 1000 + pid, nullptr, 0};
}

void expect_exact(const ct::SinkQueue& q) {
  EXPECT_EQ(q.total_pushed(), q.total_taken() + q.total_drops() + q.size());
}

TEST(SinkQueueBytes, NeverHoldsMoreThanQueueBytesAndDropsTheOldestExactly) {
  constexpr size_t kBytes = 64 * 1024;
  ct::SinkQueue q(1u << 24, kBytes);
  constexpr uint32_t kEvents = 100000;
  for (uint32_t i = 1; i <= kEvents; ++i) {
    q.push(ev(i));
    ASSERT_LE(q.bytes(), kBytes) << "after event " << i;
  }
  ASSERT_GT(q.size(), 0u);
  ASSERT_LT(q.size(), kEvents);
  EXPECT_EQ(q.total_drops(), kEvents - q.size());
  EXPECT_EQ(q.unreported_drops(), kEvents - q.size());
  // What is left is the newest events, in order, none skipped.
  std::vector<const ct_event*> front(q.size());
  ASSERT_EQ(q.front(front), q.size());
  for (size_t i = 0; i < front.size(); ++i) {
    EXPECT_EQ(front[i]->guest_pid, kEvents - q.size() + 1 + i);
    EXPECT_STREQ(front[i]->guest_comm, "worker");
    EXPECT_STREQ(front[i]->probe_source, "process.spawned");
  }
  expect_exact(q);
}

// Events of every size, taken in random amounts while the ring wraps: the bound holds after
// every push, the account after every step, and the events come out whole and in order.
TEST(SinkQueueBytes, MixedSizesWrapAroundTheRingWithAnExactAccount) {
  constexpr size_t kBytes = 64 * 1024;
  ct::SinkQueue q(1u << 24, kBytes);
  std::mt19937 rng(13);
  std::vector<std::string> texts;
  uint32_t next = 1, expected_front = 1;
  uint64_t taken = 0;
  for (int step = 0; step < 20000; ++step) {
    const std::string text(rng() % 1024, 'a' + static_cast<char>(next % 26));
    ct_extra x{};
    x.key = "cwd";
    x.value.type = CT_VALUE_TEXT;
    x.value.as.text = ct_text{text.data(), static_cast<uint32_t>(text.size())};
    ct_event e = ev(next++);
    e.extras = &x;
    e.n_extras = 1;
    q.push(e);
    ASSERT_LE(q.bytes(), kBytes);
    expected_front = next - static_cast<uint32_t>(q.size());
    if (rng() % 50 == 0) {
      std::vector<const ct_event*> got(rng() % 40);
      const size_t n = q.front(got);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(got[i]->guest_pid, expected_front + i);
        ASSERT_EQ(got[i]->n_extras, 1u);
        const ct_text t = got[i]->extras[0].value.as.text;
        ASSERT_EQ(std::string(t.ptr, t.len),
                  std::string(t.len, 'a' + static_cast<char>(got[i]->guest_pid % 26)));
      }
      q.pop(n);
      taken += n;
    }
    ASSERT_EQ(q.total_taken(), taken);
    ASSERT_EQ(q.total_pushed(), q.total_taken() + q.total_drops() + q.size());
  }
  EXPECT_GT(q.total_drops(), 0u);
}

TEST(SinkQueueBytes, AnEventLargerThanTheQueueIsDroppedAndCounted) {
  ct::SinkQueue q(100, 64 * 1024);
  q.push(ev(1));
  // 32 lists of 256 empty items: 128 KiB of item spans alone.
  std::vector<ct_text> items(256, ct_text{"", 0});
  std::vector<std::string> keys;
  std::vector<ct_extra> extras(32);
  for (int i = 0; i < 32; ++i) {
    keys.push_back("k" + std::to_string(i));
    extras[i].key = keys.back().c_str();
    extras[i].value.type = CT_VALUE_TEXT_LIST;
    extras[i].value.as.list = ct_text_list{items.data(), 256};
  }
  for (int i = 0; i < 32; ++i) extras[i].key = keys[i].c_str();
  ct_event big = ev(2);
  big.extras = extras.data();
  big.n_extras = 32;
  q.push(big);
  q.push(ev(3));
  EXPECT_EQ(q.total_drops(), 1u);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.at(0).guest_pid, 1u);
  EXPECT_EQ(q.at(1).guest_pid, 3u);
  expect_exact(q);
}

TEST(SinkQueueBytes, CommAndTextsAreRepairedOnceIntoTheRecord) {
  ct::SinkQueue q(10, 64 * 1024);
  ct_extra x{};
  x.key = "argv";
  const ct_text items[] = {{"ok", 2}, {"\xff", 1}};
  x.value.type = CT_VALUE_TEXT_LIST;
  x.value.as.list = ct_text_list{items, 2};
  ct_event e = ev(7, "a\xffz");
  e.extras = &x;
  e.n_extras = 1;
  q.push(e);
  const ct_event& got = q.at(0);
  EXPECT_STREQ(got.guest_comm, "a\xef\xbf\xbdz");
  ASSERT_EQ(got.n_extras, 1u);
  EXPECT_STREQ(got.extras[0].key, "argv");
  const ct_text_list l = got.extras[0].value.as.list;
  ASSERT_EQ(l.n, 2u);
  EXPECT_EQ(std::string(l.items[0].ptr, l.items[0].len), "ok");
  EXPECT_EQ(std::string(l.items[1].ptr, l.items[1].len), "\xef\xbf\xbd");
}

long rss_anon_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("RssAnon:", 0) == 0) return std::stol(line.substr(8));
  }
  return -1;
}

// The pages of a drained backlog go back to the system as soon as the queue is empty.
TEST(SinkQueueBytes, ADrainedBacklogGivesItsMemoryBack) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "resident sizes mean nothing under ASan";
#endif
  constexpr size_t kBytes = 8 << 20;
  ct::SinkQueue q(1u << 24, kBytes);
  const long before = rss_anon_kib();
  for (uint32_t i = 1; i <= 200000; ++i) q.push(ev(i));
  const long full = rss_anon_kib();
  EXPECT_GE(full - before, 6 * 1024) << "the backlog is resident";
  q.pop(q.size() - 1);
  q.pop(1);
  EXPECT_LE(rss_anon_kib() - before, static_cast<long>(ct::SinkQueue::kKeepBytes / 1024) + 64)
      << "given back once drained";
  expect_exact(q);
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// A sink that keeps up drains its queue after every burst. Bursts a little above kKeepBytes (a
// thousand events a millisecond, bench/throughput) must not have their pages given back and
// faulted in again every time: that cost a page fault and a zeroed page per 4 KiB of events.
TEST(SinkQueueBytes, BurstsJustAboveTheKeptPagesAreNotGivenBackEachTime) {
  ct::SinkQueue q(1u << 24, 1 << 20);
  const auto burst = [&] {
    while (q.bytes() < ct::SinkQueue::kKeepBytes * 3 / 2) q.push(ev(7));
    q.pop(q.size());
  };
  burst();  // the first burst faults its pages in
  const long before = minor_faults();
  for (int i = 0; i < 100; ++i) burst();
  EXPECT_LT(minor_faults() - before, 50) << "pages given back and faulted in again per burst";
  expect_exact(q);
}

}  // namespace
