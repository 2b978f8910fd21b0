#include "event_reader.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace tr = cellos::telemetry::tree;

namespace {

std::string error_of(const std::string& text, const std::string& source = "vm.jsonl") {
  std::istringstream in(text);
  try {
    tr::read_events(in, source, [](tr::Event&&) {});
  } catch (const tr::InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TreeEventReader, ReadsTheLedgerKeys) {
  std::istringstream in(
      R"({"vm":"vm7","seq":4,"content_version":258,"probe_source":"process.exec","guest_pid":12,)"
      R"("guest_comm":"ls","guest_monotonic_ns":99,"process_id":77,"exe":"/bin/ls",)"
      R"("argv":["ls","-l"],"argv_truncated":true,"cwd":"/","uid":1000,"euid":0,"gid":5,)"
      R"("egid":6,"raced":false})"
      "\n\n"
      R"({"content_version":258,"probe_source":"process.exited","guest_pid":12,"guest_comm":"ls",)"
      R"("guest_monotonic_ns":120,"process_id":77,"signal":11,"core_dumped":true,)"
      R"("duration_ns":21,"cpu_user_us":3,"cpu_system_us":4,"max_rss_kib":5,"read_bytes":6,)"
      R"("write_bytes":7})"
      "\n");
  std::vector<tr::Event> events;
  EXPECT_EQ(tr::read_events(in, "f", [&](tr::Event&& e) { events.push_back(std::move(e)); }), 3u);
  ASSERT_EQ(events.size(), 2u);
  const auto& x = events[0];
  EXPECT_EQ(x.probe_source, "process.exec");
  EXPECT_EQ(x.guest_pid, 12u);
  EXPECT_EQ(x.guest_comm, "ls");
  EXPECT_EQ(x.guest_monotonic_ns, 99u);
  EXPECT_EQ(x.vm, "vm7");
  EXPECT_EQ(x.process_id, 77u);
  EXPECT_EQ(x.exe, "/bin/ls");
  EXPECT_EQ(x.argv, (std::vector<std::string>{"ls", "-l"}));
  EXPECT_TRUE(x.argv_truncated);
  EXPECT_EQ(x.cwd, "/");
  EXPECT_EQ(x.uid, 1000u);
  EXPECT_EQ(x.euid, 0u);
  EXPECT_FALSE(x.raced);
  EXPECT_FALSE(x.exit_code.has_value());
  const auto& y = events[1];
  EXPECT_EQ(y.signal, 11u);
  EXPECT_TRUE(y.core_dumped);
  EXPECT_FALSE(y.exit_code.has_value());
  EXPECT_EQ(y.duration_ns, 21u);
  EXPECT_EQ(y.cpu_user_us, 3u);
  EXPECT_EQ(y.cpu_system_us, 4u);
  EXPECT_EQ(y.max_rss_kib, 5u);
  EXPECT_EQ(y.read_bytes, 6u);
  EXPECT_EQ(y.write_bytes, 7u);
  EXPECT_FALSE(y.vm.has_value());
}

TEST(TreeEventReader, NegativeExitCodeIsKept) {
  std::istringstream in(R"({"probe_source":"process.exited","guest_pid":1,"guest_comm":"x",)"
                        R"("guest_monotonic_ns":1,"exit_code":-1})");
  std::vector<tr::Event> events;
  tr::read_events(in, "f", [&](tr::Event&& e) { events.push_back(std::move(e)); });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].exit_code, -1);
}

TEST(TreeEventReader, NotJsonNamesFileLineAndColumn) {
  EXPECT_EQ(error_of("{\"probe_source\":\"a\"}\n{\"probe_source\": nope}\n"),
            "vm.jsonl:2:19: not JSON: invalid literal");
}

TEST(TreeEventReader, StdinIsNamedAsSuch) {
  EXPECT_EQ(error_of("[1]\n", "-"), "<stdin>:1:1: not a JSON object");
}

TEST(TreeEventReader, WrongTypeNamesTheKey) {
  EXPECT_EQ(error_of(R"({"probe_source":"process.exec","guest_pid":1,"argv":"ls -l"})"),
            "vm.jsonl:1:1: \"argv\" must be an array of strings");
  EXPECT_EQ(error_of(R"({"probe_source":"process.exec","guest_pid":-4})"),
            "vm.jsonl:1:1: \"guest_pid\" must be an unsigned integer");
  EXPECT_EQ(error_of(R"({"probe_source":"process.exec","guest_pid":1,"raced":1})"),
            "vm.jsonl:1:1: \"raced\" must be true or false");
  EXPECT_EQ(error_of(R"({"guest_pid":1})"), "vm.jsonl:1:1: no \"probe_source\"");
}

TEST(TreeEventReader, TruncatedLastLineIsAnError) {
  EXPECT_EQ(error_of("{\"probe_source\":\"a\"}\n{\"probe_sour"),
            "vm.jsonl:2:13: not JSON: invalid string: missing closing quote");
}
