// Loss and resync with the real kernel: the agent is frozen (SIGSTOP) behind the smallest
// receive queue while processes come and go, so the kernel must drop events; after SIGCONT the
// probe reports the loss and recovers the exits from /proc.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e_support.hpp"

namespace pt = cellos::telemetry::process::testing;
namespace t = cellos::telemetry::testing;

TEST(ProcessResyncE2E, ExitsDuringALossAreRecoveredFromProc) {
  pt::Agent agent("method = \"netlink\"\nreceive_buffer_kib = 1");
  ASSERT_TRUE(pt::wait_until_observing(agent, false)) << agent.err();

  t::TempDir dir;
  const std::string go = dir.file("go");
  const std::string go_survivor = dir.file("go-survivor");
  std::vector<pid_t> doomed;
  for (int i = 0; i < 8; ++i) {
    doomed.push_back(pt::spawn_with_comm("ct-doomed-" + std::to_string(i), go));
  }
  for (pid_t pid : doomed) ASSERT_TRUE(agent.await("process.spawned", pid)) << agent.err();

  agent.process().signal(SIGSTOP);
  pt::touch(go);
  for (pid_t pid : doomed) ASSERT_EQ(t::wait_pid(pid), 0);
  const pid_t survivor = pt::spawn_with_comm("ct-survivor", go_survivor);
  for (int i = 0; i < 100; ++i) {  // 200 more events against a queue that holds about two
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    waitpid(pid, nullptr, 0);
  }
  agent.process().signal(SIGCONT);

  EXPECT_TRUE(t::eventually(
      [&] {
        for (const auto& e : agent.events()) {
          if (e.probe_source == "process.lost" && e.guest_pid == uint32_t(agent.pid()) &&
              e.extras.count("lost_count") && e.extras.at("lost_count") > 0) {
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(30)))
      << agent.err();
  for (size_t i = 0; i < doomed.size(); ++i) {
    EXPECT_TRUE(agent.await("process.exited", doomed[i], "ct-doomed-" + std::to_string(i)))
        << "pid " << doomed[i];
    EXPECT_EQ(agent.count("process.exited", doomed[i]), 1u) << "pid " << doomed[i];
  }
  EXPECT_TRUE(agent.await("process.spawned", survivor, "ct-survivor"));
  EXPECT_NE(agent.err().find("netlink receive queue overflowed"), std::string::npos) << agent.err();

  pt::touch(go_survivor);
  ASSERT_EQ(t::wait_pid(survivor), 0);
  EXPECT_TRUE(agent.await("process.exited", survivor, "ct-survivor"));
  EXPECT_EQ(agent.stop(), 0);
}
