// The binary: where its input comes from, when it colours, its exit codes.
#include <fcntl.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;

namespace {

const std::string kFixture = CT_TREE_FIXTURES "/build.jsonl";

t::Outcome run(std::vector<std::string> args, const t::TempDir& dir) {
  args.insert(args.begin(), CT_TREE_BIN);
  t::ChildProcess child(args, dir);
  auto code = child.wait(std::chrono::seconds(60));
  return {code.value_or(-1), child.out(), child.err()};
}

// Runs the tool with stdout and stderr on a pseudo-terminal; returns what it printed.
std::string run_on_terminal(const std::vector<std::string>& args, bool no_color) {
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    if (no_color) {
      setenv("NO_COLOR", "1", 1);
    } else {
      unsetenv("NO_COLOR");
    }
    setenv("TERM", "xterm", 1);
    std::vector<char*> argv;
    std::string bin = CT_TREE_BIN;
    argv.push_back(bin.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has closed its side
    out.append(buf, static_cast<size_t>(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << out;
  return out;
}

}  // namespace

TEST(TreeCli, PipedOutputHasNoColour) {
  t::TempDir dir;
  auto r = run({kFixture}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("├─ 102 cc -c broken.c  +0.840s 260ms  exit 1"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
}

TEST(TreeCli, TerminalGetsColourUnlessNoColor) {
  auto coloured = run_on_terminal({kFixture}, false);
  EXPECT_NE(coloured.find("\x1b[31mexit 1\x1b[0m"), std::string::npos) << coloured;
  auto plain = run_on_terminal({kFixture}, true);
  EXPECT_NE(plain.find("exit 1"), std::string::npos) << plain;
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << plain;
}

TEST(TreeCli, ReadsStandardInput) {
  t::TempDir dir;
  t::ChildProcess child({"/bin/sh", "-c", std::string(CT_TREE_BIN) + " --failed - < " + kFixture},
                        dir);
  ASSERT_EQ(child.wait(std::chrono::seconds(60)), 0) << child.err();
  EXPECT_NE(child.out().find("4 failed"), std::string::npos) << child.out();
  EXPECT_NE(child.out().find("   └─ 104 ./crash"), std::string::npos) << child.out();
}

TEST(TreeCli, PidSelectsASubtreeAndAnUnknownPidIsAnError) {
  t::TempDir dir;
  auto r = run({"--pid", "104", kFixture}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\n104 ./crash  +1.950s"), std::string::npos) << r.out;
  auto none = run({"--pid", "4242", kFixture}, dir);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err, "cellos-telemetry-tree: no process with pid 4242 in " + kFixture + "\n");
}

TEST(TreeCli, BadInputNamesFileLineAndColumn) {
  t::TempDir dir;
  auto bad =
      dir.write("bad.jsonl", "{\"probe_source\":\"agent.heartbeat\",\"guest_pid\":1}\n{\"oops\"\n");
  auto r = run({bad}, dir);
  EXPECT_EQ(r.exit_code, 65);
  EXPECT_EQ(r.err.rfind("cellos-telemetry-tree: " + bad + ":2:8: not JSON: ", 0), 0u) << r.err;
}

TEST(TreeCli, MissingFileAndBadOptions) {
  t::TempDir dir;
  auto missing = run({dir.file("nope.jsonl")}, dir);
  EXPECT_EQ(missing.exit_code, 66);
  EXPECT_EQ(missing.err, "cellos-telemetry-tree: cannot open " + dir.file("nope.jsonl") +
                             ": No such file or directory\n");
  EXPECT_EQ(run({"--frobnicate"}, dir).exit_code, 64);
  EXPECT_EQ(run({"--pid", "x1", kFixture}, dir).exit_code, 64);
  EXPECT_EQ(run({"a", "b"}, dir).exit_code, 64);
  auto help = run({"--help"}, dir);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--failed"), std::string::npos);
}

TEST(TreeCli, SeveralVmsNeedAChoice) {
  t::TempDir dir;
  auto two = dir.write(
      "two.jsonl",
      "{\"vm\":\"vm1\",\"probe_source\":\"process.spawned\",\"guest_pid\":5,\"guest_comm\":\"a\","
      "\"guest_monotonic_ns\":1,\"process_id\":50}\n"
      "{\"vm\":\"vm2\",\"probe_source\":\"process.spawned\",\"guest_pid\":6,\"guest_comm\":\"b\","
      "\"guest_monotonic_ns\":1,\"process_id\":60}\n");
  auto r = run({two}, dir);
  EXPECT_EQ(r.exit_code, 64);
  EXPECT_EQ(r.err, "cellos-telemetry-tree: " + two +
                       " holds events of 2 VMs (vm1, vm2): choose one with --vm LABEL\n");
  auto one = run({"--vm", "vm2", two}, dir);
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(one.out, "vm2: 1 process, 1 running, 0 failed\n6 b  +0.000s  running\n");
}

TEST(TreeCli, HtmlFileIsWritten) {
  t::TempDir dir;
  auto r = run({"--html", dir.file("t.html"), kFixture}, dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(
      t::read_file(dir.file("t.html")).find("<script type=\"application/json\" id=\"tree-data\">"),
      std::string::npos);
  auto unwritable = run({"--html", dir.file("no/such/dir.html"), kFixture}, dir);
  EXPECT_EQ(unwritable.exit_code, 73);
  EXPECT_EQ(unwritable.err.rfind(
                "cellos-telemetry-tree: cannot write " + dir.file("no/such/dir.html"), 0),
            0u)
      << unwritable.err;
}
