#include "text_report.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "event_reader.hpp"
#include "selection.hpp"

namespace tr = cellos::telemetry::tree;

namespace {

// tests/fixtures/build.jsonl: a build script in vm42 (see its events for the story).
tr::Ledger build_ledger() {
  tr::Ledger ledger;
  std::ifstream in(CT_TREE_FIXTURES "/build.jsonl");
  EXPECT_TRUE(in.good());
  tr::read_events(in, "build.jsonl", [&](tr::Event&& e) { ledger.apply(e); });
  return ledger;
}

std::string text(const tr::Ledger& l, const tr::Selection& s, bool colour = false) {
  std::ostringstream out;
  tr::write_text(l, tr::select(l, s), {.colour = colour, .vm = "vm42"}, out);
  return out.str();
}

}  // namespace

TEST(TreeTextReport, WholeTree) {
  EXPECT_EQ(text(build_ledger(), {}),
            "vm42: 11 processes, 3 running, 4 failed, 12 kernel events lost\n"
            "1 /sbin/cellos-init  -4.880s  running  [initial]\n"
            "├─ 2 cellos-telemetry --fork  -4.100s  running  [initial]\n"
            "└─ 100 /bin/sh build.sh  +0.010s 2.29s  exit 1  cpu 12.0ms  rss 3.0 MiB\n"
            "   ├─ 101 cc -c hello.c -o hello.o  +0.020s 810ms  exit 0  cpu 700ms  rss 47.1 MiB\n"
            "   ├─ 102 cc -c broken.c  +0.840s 260ms  exit 1  cpu 230ms  rss 29.4 MiB\n"
            "   ├─ 103 ./hog --megabytes 600  +1.200s 701ms  killed by SIGKILL  cpu 400ms"
            "  rss 391.8 MiB  [OOM-killed]\n"
            "   ├─ 104 ./crash  +1.950s 11.0ms  killed by SIGSEGV  cpu 1.30ms  rss 1.1 MiB"
            "  [segfault]\n"
            "   ├─ 105 printf $'\\e]0;pwned\\a\\e[2J' 'a b' '' $'it\\'s' $'\\u202eevil'"
            " '</script><b>x</b>'  +2.000s 3.00ms  exit 0  cpu 500µs  rss 900 KiB\n"
            "   ├─ 106 true  +2.010s 1.00ms  exit 0  cpu 200µs  rss 800 KiB  [raced]\n"
            "   ├─ 107 sleep 0.1  +2.020s  ended, status unknown  [end seen by a resync]\n"
            "   └─ 110 sleep 1000  +2.150s  running  [start seen by a resync]\n"
            "! +2.200s: 12 kernel events lost; a resync followed (what it found is marked)\n");
}

TEST(TreeTextReport, FailedShowsFailuresWithTheirAncestors) {
  EXPECT_EQ(text(build_ledger(), {.pid = std::nullopt, .failed_only = true}),
            "vm42: 11 processes, 3 running, 4 failed, 12 kernel events lost; 5 shown\n"
            "1 /sbin/cellos-init  -4.880s  running  [initial]\n"
            "└─ 100 /bin/sh build.sh  +0.010s 2.29s  exit 1  cpu 12.0ms  rss 3.0 MiB\n"
            "   ├─ 102 cc -c broken.c  +0.840s 260ms  exit 1  cpu 230ms  rss 29.4 MiB\n"
            "   ├─ 103 ./hog --megabytes 600  +1.200s 701ms  killed by SIGKILL  cpu 400ms"
            "  rss 391.8 MiB  [OOM-killed]\n"
            "   └─ 104 ./crash  +1.950s 11.0ms  killed by SIGSEGV  cpu 1.30ms  rss 1.1 MiB"
            "  [segfault]\n"
            "! +2.200s: 12 kernel events lost; a resync followed (what it found is marked)\n");
}

TEST(TreeTextReport, PidShowsASubtree) {
  auto l = build_ledger();
  EXPECT_EQ(text(l, {.pid = 100, .failed_only = true}),
            "vm42: 11 processes, 3 running, 4 failed, 12 kernel events lost; 4 shown\n"
            "100 /bin/sh build.sh  +0.010s 2.29s  exit 1  cpu 12.0ms  rss 3.0 MiB\n"
            "├─ 102 cc -c broken.c  +0.840s 260ms  exit 1  cpu 230ms  rss 29.4 MiB\n"
            "├─ 103 ./hog --megabytes 600  +1.200s 701ms  killed by SIGKILL  cpu 400ms"
            "  rss 391.8 MiB  [OOM-killed]\n"
            "└─ 104 ./crash  +1.950s 11.0ms  killed by SIGSEGV  cpu 1.30ms  rss 1.1 MiB"
            "  [segfault]\n"
            "! +2.200s: 12 kernel events lost; a resync followed (what it found is marked)\n");
  EXPECT_EQ(text(l, {.pid = 101}),
            "vm42: 11 processes, 3 running, 4 failed, 12 kernel events lost; 1 shown\n"
            "101 cc -c hello.c -o hello.o  +0.020s 810ms  exit 0  cpu 700ms  rss 47.1 MiB\n"
            "! +2.200s: 12 kernel events lost; a resync followed (what it found is marked)\n");
  EXPECT_TRUE(tr::select(l, {.pid = 4242}).empty());
}

TEST(TreeTextReport, ColourMarksHowEachEnded) {
  auto out = text(build_ledger(), {}, true);
  EXPECT_NE(out.find("\x1b[31mexit 1\x1b[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[32mexit 0\x1b[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[1;35mkilled by SIGKILL\x1b[0m"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[33mrunning\x1b[0m"), std::string::npos) << out;
  // The only escape sequences are the report's own: none from the hostile argv.
  EXPECT_EQ(out.find("\x1b]"), std::string::npos);
  EXPECT_EQ(out.find("\x1b[2J"), std::string::npos);
}

TEST(TreeTextReport, NoControlCharacterFromTheGuestReachesTheOutput) {
  auto out = text(build_ledger(), {});
  for (char c : out) {
    EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << int(c);
    EXPECT_NE(c, '\x7f');
  }
  EXPECT_EQ(out.find("\xe2\x80\xae"), std::string::npos);  // U+202E, right-to-left override
}

TEST(TreeTextReport, RecordedWorkload) {
  // fixtures/recorded-workload.jsonl: the agent (process ledger and kernel probes, stdout sink
  // in JSON) on this guest while a script compiled a program, failed to compile another, was
  // OOM-killed in a 64 MiB memory cgroup and segfaulted; cut to the script's subtree.
  tr::Ledger l;
  std::ifstream in(CT_TREE_FIXTURES "/recorded-workload.jsonl");
  tr::read_events(in, "recorded-workload.jsonl", [&](tr::Event&& e) { l.apply(e); });
  std::ostringstream out;
  tr::write_text(l, tr::select(l, {}), {}, out);
  const std::string s = out.str();
  auto line_with = [&](const std::string& start) {
    auto at = s.find(start);
    return at == std::string::npos ? std::string() : s.substr(at, s.find('\n', at) - at);
  };
  EXPECT_EQ(s.substr(0, s.find('\n')), "19 processes, 0 running, 4 failed");
  EXPECT_EQ(line_with("17041 "),
            "17041 /bin/sh ./workload.sh  +0.000s 1.06s  exit 0  cpu 4.00ms  rss 1.3 MiB");
  EXPECT_EQ(line_with("├─ 17078 "),
            "├─ 17078 ./hello 'a b' '' $'it\\'s'  +0.427s 1.85ms  exit 0  cpu 0ns  rss 1.2 MiB");
  EXPECT_EQ(line_with("├─ 17079 "),
            "├─ 17079 cc -c broken.c -o broken.o  +0.430s 89.2ms  exit 1  cpu 4.00ms  rss 2.5 MiB");
  EXPECT_EQ(line_with("├─ 17090 "),
            "├─ 17090 /usr/bin/python3 -c 'b = bytearray(512 << 20)'  +0.531s 203ms  killed by "
            "SIGKILL  cpu 108ms  rss 69.0 MiB  [OOM-killed]");
  EXPECT_EQ(line_with("├─ 17103 "),
            "├─ 17103 /usr/bin/python3 -c 'import ctypes; ctypes.string_at(0)'  +0.780s 51.6ms  "
            "killed by SIGSEGV  cpu 20.0ms  rss 8.5 MiB  [segfault]");
  EXPECT_EQ(line_with("│  └─ 17080 ").find("│  └─ 17080 /usr/lib/gcc/x86_64-linux-gnu/12/cc1 "),
            0u);
}
