// Each message the probe gives an event of its own, parsed from recorded records, and hostile
// comms that try to look like the kernel's text.
#include "kernel_messages.hpp"

#include <gtest/gtest.h>

#include "kmsg_record.hpp"
#include "record_file.hpp"

namespace ck = cellos::telemetry::kernel;
namespace kt = cellos::telemetry::kernel::testing;

namespace {
std::string message_of(const std::string& file, size_t i) {
  return std::string(ck::parse_kmsg_record(kt::read_records(file).at(i))->message);
}
}  // namespace

TEST(KernelMessages, SegfaultFromThisKernel) {
  const auto f = ck::parse_segfault(message_of("segfault.txt", 1));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->pid, 25143u);
  EXPECT_EQ(f->comm, "segv");
  EXPECT_EQ(f->address, 0x10u);
  EXPECT_EQ(f->ip, 0x557ac4da3139u);
  EXPECT_EQ(f->sp, 0x7ffea7dcec30u);
  EXPECT_EQ(f->error, 4u);
  EXPECT_EQ(f->object, "segv");
  const auto libc = ck::parse_segfault(message_of("segfault.txt", 3));
  ASSERT_TRUE(libc);
  EXPECT_EQ(libc->comm, "cellos-telemetr");
  EXPECT_EQ(libc->object, "libc.so.6");
  // The records around it are not segfaults.
  EXPECT_FALSE(ck::parse_segfault(message_of("segfault.txt", 0)));
  EXPECT_FALSE(ck::parse_segfault(message_of("segfault.txt", 2)));
}

TEST(KernelMessages, SegfaultOfACommThatImitatesTheKernel) {
  // 15 bytes is too short to hold the anchor with a "[PID" before it: the real one wins.
  const auto f = ck::parse_segfault(
      "x]: segfault at[77]: segfault at 0 ip 0000000000000001 sp 0000000000000002 error 6");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->comm, "x]: segfault at");
  EXPECT_EQ(f->pid, 77u);
  EXPECT_EQ(f->error, 6u);
  EXPECT_EQ(f->object, "");
  const auto escaped = ck::parse_segfault(
      "a\\x1bb[31][9]: segfault at 0 ip 1 sp 2 error 4 in lib with space.so[1+2] likely on CPU 0");
  ASSERT_TRUE(escaped);
  EXPECT_EQ(escaped->comm,
            "a\x1b"
            "b[31]");
  EXPECT_EQ(escaped->object, "lib with space.so");
  EXPECT_FALSE(ck::parse_segfault("[1]: segfault at zz ip 1 sp 2 error 4"));
  EXPECT_FALSE(ck::parse_segfault("sixteen-bytes-xx[1]: segfault at 0 ip 1 sp 2 error 4"));
}

TEST(KernelMessages, TrapsFromThisKernel) {
  const char* const names[] = {"invalid opcode", "divide error", "general protection fault"};
  const char* const comms[] = {"ud", "div", "gp"};
  const uint32_t pids[] = {25941, 26002, 26094};
  for (size_t i = 0; i < 3; ++i) {
    const auto t = ck::parse_trap(message_of("traps.txt", i));
    ASSERT_TRUE(t) << i;
    EXPECT_EQ(t->trap, names[i]);
    EXPECT_EQ(t->comm, comms[i]);
    EXPECT_EQ(t->pid, pids[i]);
    EXPECT_EQ(t->error, 0u);
    EXPECT_EQ(t->object, comms[i]);
  }
  const auto t = ck::parse_trap(message_of("traps.txt", 0));
  EXPECT_EQ(t->ip, 0x55ae63b2912du);
  EXPECT_EQ(t->sp, 0x7fffb2d67450u);
  EXPECT_FALSE(ck::parse_segfault(message_of("traps.txt", 0)));
}

TEST(KernelMessages, OomVictimAndItsCompanionFromThisKernel) {
  const auto records = kt::read_records("oom_memcg.txt");
  const auto context = ck::parse_oom_context(message_of("oom_memcg.txt", records.size() - 2));
  ASSERT_TRUE(context);
  EXPECT_EQ(context->pid, 25267u);
  EXPECT_EQ(context->uid, 0u);
  EXPECT_EQ(context->constraint, "CONSTRAINT_MEMCG");
  EXPECT_EQ(context->memcg, "/ct-kmsg-rec");
  const auto v = ck::parse_oom_victim(message_of("oom_memcg.txt", records.size() - 1));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->pid, 25267u);
  EXPECT_EQ(v->comm, "hog");
  EXPECT_EQ(v->total_vm_kib, 35372u);
  EXPECT_EQ(v->anon_rss_kib, 32640u);
  EXPECT_EQ(v->file_rss_kib, 860u);
  EXPECT_EQ(v->shmem_rss_kib, 0u);
  EXPECT_EQ(v->uid, 0u);
  EXPECT_EQ(v->oom_score_adj, 0);
}

TEST(KernelMessages, OomVictimWithANegativeScoreAndACommHoldingTheAnchor) {
  const auto v = ck::parse_oom_victim(
      "Out of memory: Killed process 9 (a) total-vm:1) total-vm:10kB, anon-rss:2kB, "
      "file-rss:3kB, shmem-rss:4kB, UID:1000 pgtables:1kB oom_score_adj:-998");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->comm, "a) total-vm:1");
  EXPECT_EQ(v->total_vm_kib, 10u);
  EXPECT_EQ(v->uid, 1000u);
  EXPECT_EQ(v->oom_score_adj, -998);
  EXPECT_FALSE(
      ck::parse_oom_victim("hello: Killed process 9 (a) total-vm:1kB, anon-rss:2kB, "
                           "file-rss:3kB, shmem-rss:4kB"));
}

TEST(KernelMessages, OomContextWithACommaInTheCgroupPath) {
  const auto c = ck::parse_oom_context(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
      "global_oom,task_memcg=/a,b/c,task=x,pid=5,uid=1");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->memcg, "/a,b/c");
  EXPECT_EQ(c->pid, 5u);
  EXPECT_EQ(c->constraint, "CONSTRAINT_NONE");
  EXPECT_FALSE(ck::parse_oom_context("oom-kill:constraint=CONSTRAINT_NONE,pid=x"));
}

TEST(KernelMessages, HungTaskAndWarnings) {
  const auto h = ck::parse_hung_task(message_of("hung_task_and_warning.txt", 0));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->comm, "ct-stuck");
  EXPECT_EQ(h->pid, 4242u);
  EXPECT_EQ(h->blocked_s, 122u);
  const auto colon = ck::parse_hung_task("INFO: task a:b:7 blocked for more than 5 seconds.");
  ASSERT_TRUE(colon);
  EXPECT_EQ(colon->comm, "a:b");
  const auto w = ck::parse_warning(message_of("hung_task_and_warning.txt", 4));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->pid, 4243u);
  for (size_t i : {6u, 8u, 9u}) {
    EXPECT_TRUE(ck::parse_warning(message_of("hung_task_and_warning.txt", i))) << i;
  }
  EXPECT_FALSE(ck::parse_warning(message_of("hung_task_and_warning.txt", 3)));
  EXPECT_FALSE(ck::parse_warning("x kernel BUG at y"));
}

TEST(KernelMessages, CommIsUnescapedAndCutAtACharacter) {
  EXPECT_EQ(ck::comm_from_kmsg("h\\xc3\\xa9llo"), "h\xc3\xa9llo");
  EXPECT_EQ(ck::comm_from_kmsg("12345678901234\\xc3\\xa9"), "12345678901234");
}
