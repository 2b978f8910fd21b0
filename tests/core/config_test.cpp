#include "config.hpp"
#include "harness.hpp"

#include <gtest/gtest.h>
#include <cellos/telemetry/sdk.hpp>

#include <filesystem>

namespace ct = cellos::telemetry;

namespace {

std::string error_of(const std::string& text) {
  try {
    ct::parse_config(text, "agent.toml");
  } catch (const ct::ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr const char* kModes[] = {"fast", "slow", nullptr};
constexpr const char* kDefaultList[] = {"a", "b", nullptr};
constexpr ct_option_spec kSpecs[] = {
    ct::int_option("interval_ms", "", 100, 1, 1000),
    ct::bool_option("emit_initial", "", false),
    ct::string_option("mode", "", "fast", kModes),
    ct::string_list_option("names", "", kDefaultList),
};

std::string option_error(const std::string& table) {
  try {
    const auto cfg = ct::parse_config("[[probes.p]]\n" + table + "\n[[sinks.s]]\n", "agent.toml");
    ct::validate_options(cfg.probes.at(0), kSpecs, 4);
  } catch (const ct::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, ParsesAgentProbesAndSinks) {
  const auto cfg = ct::parse_config(R"(
[agent]
plugin_dir = "/opt/plugins"
heartbeat_interval_ms = 0
shutdown_timeout_ms = 500
[[probes.process]]
interval_ms = 50
[[probes.process]]
[[sinks.stdout]]
match = ["process.*"]
queue_capacity = 10
[sinks.vsock]
)",
                                    "agent.toml");
  EXPECT_EQ(cfg.plugin_dir, "/opt/plugins");
  EXPECT_EQ(cfg.heartbeat_interval_ms, 0u);
  EXPECT_EQ(cfg.shutdown_timeout_ms, 500u);
  ASSERT_EQ(cfg.probes.size(), 2u);  // two instances of one plugin are allowed
  EXPECT_EQ(cfg.probes[1].display_name(), "probes.process[1]");
  EXPECT_EQ(cfg.probes[0].where.str(), "agent.toml:6:1");
  ASSERT_EQ(cfg.sinks.size(), 2u);
  EXPECT_EQ(cfg.sinks[0].match, std::vector<std::string>{"process.*"});
  EXPECT_EQ(cfg.sinks[0].queue_capacity, 10u);
  EXPECT_EQ(cfg.sinks[1].queue_capacity, 65536u);
}

TEST(Config, SyntaxErrorNamesFileLineColumn) {
  EXPECT_EQ(error_of("[agent]\nheartbeat_interval_ms = = 3\n").rfind("agent.toml:2:", 0), 0u);
}

TEST(Config, NoSinkIsAnError) {
  EXPECT_NE(error_of("[[probes.process]]\n").find("no sink is configured"), std::string::npos);
  EXPECT_NE(error_of("[[sinks.stdout]]\nenabled = false\n").find("no sink"), std::string::npos);
}

TEST(Config, UnknownKeysAreErrorsWithTheirPosition) {
  EXPECT_EQ(error_of("[agent]\nheartbeat_intervall_ms = 3\n[[sinks.s]]\n"),
            "agent.toml:2:1: unknown key 'heartbeat_intervall_ms' in [agent] (known: plugin_dir, "
            "heartbeat_interval_ms, shutdown_timeout_ms, call_time_limit_ms, disable)");
  EXPECT_EQ(error_of("[sinkz]\n").rfind("agent.toml:1:2: unknown top-level key 'sinkz'", 0), 0u);
}

TEST(Config, CoreKeysAreTypeAndRangeChecked) {
  EXPECT_EQ(error_of("[agent]\nheartbeat_interval_ms = \"5\"\n[[sinks.s]]\n"),
            "agent.toml:2:25: 'heartbeat_interval_ms' must be an integer, not a string");
  EXPECT_EQ(error_of("[[sinks.s]]\nqueue_capacity = 0\n"),
            "agent.toml:2:18: 'queue_capacity' = 0 is out of range [1, 16777216]");
  EXPECT_EQ(error_of("[[sinks.s]]\nmatch = [1]\n"),
            "agent.toml:2:10: 'match' must hold only strings, not an integer");
  EXPECT_EQ(error_of("[[sinks.s]]\nmatch = []\n"), "agent.toml:2:9: 'match' must not be empty");
  EXPECT_NE(error_of("probes = 3\n[[sinks.s]]\n").find("[probes] must be a table"),
            std::string::npos);
  EXPECT_NE(error_of("[probes]\nx = 3\n[[sinks.s]]\n").find("'probes.x' must be a table"),
            std::string::npos);
}

// Every core key, declared in core_options.cpp, checked by the code that checks plugin options.
TEST(Config, EachAgentKeyIsTypeAndRangeChecked) {
  const auto agent = [](const std::string& line) {
    return error_of("[agent]\n" + line + "\n[[sinks.s]]\n");
  };
  EXPECT_EQ(agent("plugin_dir = 3"),
            "agent.toml:2:14: 'plugin_dir' must be a string, not an integer");
  EXPECT_EQ(agent("heartbeat_interval_ms = -1"),
            "agent.toml:2:25: 'heartbeat_interval_ms' = -1 is out of range [0, 3600000]");
  EXPECT_EQ(agent("heartbeat_interval_ms = 3600001"),
            "agent.toml:2:25: 'heartbeat_interval_ms' = 3600001 is out of range [0, 3600000]");
  EXPECT_EQ(agent("shutdown_timeout_ms = 60001"),
            "agent.toml:2:23: 'shutdown_timeout_ms' = 60001 is out of range [0, 60000]");
  EXPECT_EQ(agent("shutdown_timeout_ms = 1.5"),
            "agent.toml:2:23: 'shutdown_timeout_ms' must be an integer, not a float");
  EXPECT_EQ(agent("call_time_limit_ms = 600001"),
            "agent.toml:2:22: 'call_time_limit_ms' = 600001 is out of range [0, 600000]");
  EXPECT_EQ(agent("call_time_limit_ms = true"),
            "agent.toml:2:22: 'call_time_limit_ms' must be an integer, not a boolean");
  EXPECT_EQ(agent("disable = \"probes.p\""),
            "agent.toml:2:11: 'disable' must be an array of strings, not a string");
  EXPECT_EQ(agent("disable = [1]"),
            "agent.toml:2:12: 'disable' must hold only strings, not an integer");
  EXPECT_EQ(agent("[agent.sub]"),
            "agent.toml:2:8: unknown key 'sub' in [agent] (known: "
            "plugin_dir, heartbeat_interval_ms, shutdown_timeout_ms, "
            "call_time_limit_ms, disable)");
  EXPECT_EQ(error_of("agent = 3\n[[sinks.s]]\n"), "agent.toml:1:9: [agent] must be a table");
  // The bounds themselves are accepted.
  const auto cfg = ct::parse_config(
      "[agent]\nheartbeat_interval_ms = 3600000\nshutdown_timeout_ms = 0\n"
      "call_time_limit_ms = 600000\nplugin_dir = \"\"\n[[sinks.s]]\n",
      "agent.toml");
  EXPECT_EQ(cfg.heartbeat_interval_ms, 3600000u);
  EXPECT_EQ(cfg.shutdown_timeout_ms, 0u);
  EXPECT_EQ(cfg.call_time_limit_ms, 600000u);
}

TEST(Config, EachInstanceCoreKeyIsTypeAndRangeChecked) {
  EXPECT_EQ(error_of("[[probes.p]]\nenabled = \"no\"\n[[sinks.s]]\n"),
            "agent.toml:2:11: 'enabled' must be a boolean, not a string");
  EXPECT_EQ(error_of("[[sinks.s]]\nenabled = 0\n"),
            "agent.toml:2:11: 'enabled' must be a boolean, not an integer");
  EXPECT_EQ(error_of("[[sinks.s]]\nqueue_capacity = 16777217\n"),
            "agent.toml:2:18: 'queue_capacity' = 16777217 is out of range [1, 16777216]");
  EXPECT_EQ(error_of("[[sinks.s]]\nqueue_capacity = \"8\"\n"),
            "agent.toml:2:18: 'queue_capacity' must be an integer, not a string");
  EXPECT_EQ(error_of("[[sinks.s]]\nmatch = \"*\"\n"),
            "agent.toml:2:9: 'match' must be an array of strings, not a string");
  const auto cfg = ct::parse_config(
      "[[sinks.s]]\nqueue_capacity = 1\n[[sinks.s]]\nqueue_capacity = 16777216\n"
      "match = [\"a.*\", \"b.c\"]\nenabled = false\n",
      "agent.toml");
  EXPECT_EQ(cfg.sinks[0].queue_capacity, 1u);
  EXPECT_EQ(cfg.sinks[1].queue_capacity, 16777216u);
  EXPECT_EQ(cfg.sinks[1].match, (std::vector<std::string>{"a.*", "b.c"}));
  EXPECT_FALSE(cfg.sinks[1].enabled);
}

// match and queue_capacity belong to sinks: in a probe's table they are the plugin's business,
// and unknown to a plugin that does not declare them.
TEST(Options, SinkOnlyCoreKeysAreUnknownInAProbe) {
  EXPECT_EQ(option_error("queue_capacity = 3"),
            "agent.toml:2:1: unknown key 'queue_capacity' in [[probes.p]] (known: interval_ms, "
            "emit_initial, mode, names, enabled)");
}

TEST(Config, MissingFileIsAnErrorNamingIt) {
  try {
    ct::load_config_file("/nonexistent/agent.toml", "/nonexistent/agent.d");
    FAIL();
  } catch (const ct::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/agent.toml: cannot read the configuration file: No such file or "
              "directory");
  }
}

TEST(Options, DefaultsAreFilledIn) {
  const auto cfg = ct::parse_config("[[probes.p]]\n[[sinks.s]]\n", "agent.toml");
  const auto v = ct::validate_options(cfg.probes[0], kSpecs, 4);
  const ct::Options o(v.data(), v.size());
  EXPECT_EQ(o.get_int("interval_ms"), 100);
  EXPECT_FALSE(o.get_bool("emit_initial"));
  EXPECT_EQ(o.get_string("mode"), "fast");
  EXPECT_EQ(o.get_list("names"), (std::vector<std::string>{"a", "b"}));
}

TEST(Options, GivenValuesAreUsed) {
  const auto cfg = ct::parse_config(
      "[[probes.p]]\ninterval_ms = 7\nemit_initial = true\nmode = \"slow\"\nnames = []\n"
      "enabled = true\n[[sinks.s]]\n",
      "agent.toml");
  const auto v = ct::validate_options(cfg.probes[0], kSpecs, 4);
  const ct::Options o(v.data(), v.size());
  EXPECT_EQ(o.get_int("interval_ms"), 7);
  EXPECT_TRUE(o.get_bool("emit_initial"));
  EXPECT_EQ(o.get_string("mode"), "slow");
  EXPECT_TRUE(o.get_list("names").empty());
  EXPECT_EQ(v.describe(), "interval_ms = 7, emit_initial = true, mode = \"slow\", names = []");
}

TEST(Options, UnknownKeyNamesTheKnownOnes) {
  EXPECT_EQ(option_error("intervl_ms = 3"),
            "agent.toml:2:1: unknown key 'intervl_ms' in [[probes.p]] (known: interval_ms, "
            "emit_initial, mode, names, enabled)");
}

TEST(Options, WrongTypesAreErrors) {
  EXPECT_EQ(option_error("interval_ms = \"3\""),
            "agent.toml:2:15: 'interval_ms' must be an integer, not a string");
  EXPECT_EQ(option_error("interval_ms = 1.5"),
            "agent.toml:2:15: 'interval_ms' must be an integer, not a float");
  EXPECT_EQ(option_error("emit_initial = 1"),
            "agent.toml:2:16: 'emit_initial' must be a boolean, not an integer");
  EXPECT_EQ(option_error("mode = true"), "agent.toml:2:8: 'mode' must be a string, not a boolean");
  EXPECT_EQ(option_error("names = \"a\""),
            "agent.toml:2:9: 'names' must be an array of strings, not a string");
}

TEST(Options, OutOfRangeAndUnknownChoiceAreErrors) {
  EXPECT_EQ(option_error("interval_ms = 0"),
            "agent.toml:2:15: 'interval_ms' = 0 is out of range [1, 1000]");
  EXPECT_EQ(option_error("interval_ms = 1001"),
            "agent.toml:2:15: 'interval_ms' = 1001 is out of range [1, 1000]");
  EXPECT_EQ(option_error("mode = \"medium\""),
            "agent.toml:2:8: 'mode' = \"medium\" is not one of \"fast\", \"slow\"");
}

TEST(DropIns, AreMergedInLexicalOrder) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base =
      dir.write("agent.toml",
                "[agent]\nheartbeat_interval_ms = 100\nshutdown_timeout_ms = 7\n"
                "[[probes.process]]\n[[sinks.vsock]]\n");
  std::filesystem::create_directory(dir.file("agent.d"));
  dir.write("agent.d/20-second.toml", "[agent]\nheartbeat_interval_ms = 300\n[[probes.extra]]\n");
  dir.write("agent.d/10-first.toml",
            "[agent]\nheartbeat_interval_ms = 200\n[[probes.process]]\n"
            "interval_ms = 5\n");
  dir.write("agent.d/notes.txt", "not toml, not read");
  const auto cfg = ct::load_config_file(base, dir.file("agent.d"));
  EXPECT_EQ(cfg.files, (std::vector<std::string>{base, dir.file("agent.d/10-first.toml"),
                                                 dir.file("agent.d/20-second.toml")}));
  EXPECT_EQ(cfg.heartbeat_interval_ms, 300u);  // the last file wins
  EXPECT_EQ(cfg.agent_key_where.at("heartbeat_interval_ms").str(),
            dir.file("agent.d/20-second.toml") + ":2:25");
  EXPECT_EQ(cfg.shutdown_timeout_ms, 7u);  // untouched keys keep the base's value
  ASSERT_EQ(cfg.probes.size(), 3u);        // tables add instances
  EXPECT_EQ(cfg.probes[1].display_name(), "probes.process[1]");
  EXPECT_EQ(cfg.probes[1].where.str(), dir.file("agent.d/10-first.toml") + ":3:1");
  EXPECT_EQ(cfg.probes[2].plugin, "extra");
}

TEST(DropIns, DisableTurnsOffInstancesFromEarlierFiles) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base = dir.write("agent.toml",
                                     "[[probes.process]]\n[[probes.process]]\n[[probes.other]]\n"
                                     "[[sinks.vsock]]\n[[sinks.stdout]]\n");
  std::filesystem::create_directory(dir.file("agent.d"));
  dir.write("agent.d/vm.toml",
            "[agent]\ndisable = [\"probes.process[1]\", \"probes.other\", "
            "\"sinks.stdout\"]\n");
  const auto cfg = ct::load_config_file(base, dir.file("agent.d"));
  std::map<std::string, bool> enabled;
  for (const auto* list : {&cfg.probes, &cfg.sinks}) {
    for (const auto& i : *list) enabled[i.display_name()] = i.enabled;
  }
  EXPECT_EQ(enabled, (std::map<std::string, bool>{{"probes.process[0]", true},
                                                  {"probes.process[1]", false},
                                                  {"probes.other[0]", false},
                                                  {"sinks.vsock[0]", true},
                                                  {"sinks.stdout[0]", false}}));
}

TEST(DropIns, ErrorsNameTheDropInFile) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base = dir.write("agent.toml", "[[sinks.vsock]]\n");
  std::filesystem::create_directory(dir.file("agent.d"));
  dir.write("agent.d/vm.toml", "[agent]\ndisable = [\"probes.typo\"]\n");
  try {
    ct::load_config_file(base, dir.file("agent.d"));
    FAIL();
  } catch (const ct::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              dir.file("agent.d/vm.toml") +
                  ":2:11: 'disable' names 'probes.typo', which no file configures (write "
                  "probes.NAME, sinks.NAME or probes.NAME[INDEX])");
  }
  dir.write("agent.d/vm.toml", "[agent]\ndisable = [\"sinks.vsock\"]\n");
  try {
    ct::load_config_file(base, dir.file("agent.d"));
    FAIL();
  } catch (const ct::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("no sink is configured"), std::string::npos);
  }
}

// --- What a configuration file may be: a regular file, readable, at most 1 MiB -------------
// (The FIFO and device cases would block or eat memory in-process on a broken build; the
// end-to-end tests in config_file_e2e_test.cpp run them in the agent, under a deadline.)

std::string load_error(const std::string& base, const std::string& drop_in_dir) {
  try {
    ct::load_config_file(base, drop_in_dir);
  } catch (const ct::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigFiles, DirectoryNamedLikeADropInIsRefused) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base = dir.write("agent.toml", "[[sinks.vsock]]\n");
  std::filesystem::create_directories(dir.file("agent.d/x.toml"));
  EXPECT_EQ(load_error(base, dir.file("agent.d")),
            dir.file("agent.d/x.toml") +
                ": not a regular file (a directory); only regular files are read as "
                "configuration");
}

TEST(ConfigFiles, ReadErrorIsAnErrorNotAnEmptyFile) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base = dir.write("agent.toml", "[[sinks.vsock]]\n");
  std::filesystem::create_directory(dir.file("agent.d"));
  // A regular file (procfs says so) whose first read fails with EIO: nothing is mapped at 0.
  std::filesystem::create_symlink("/proc/self/mem", dir.file("agent.d/mem.toml"));
  EXPECT_EQ(
      load_error(base, dir.file("agent.d")),
      dir.file("agent.d/mem.toml") + ": cannot read the configuration file: Input/output error");
}

TEST(ConfigFiles, OneMebibyteIsAcceptedAndOneByteMoreIsRefused) {
  cellos::telemetry::testing::TempDir dir;
  constexpr size_t kCap = 1048576;  // documented in README.md
  const std::string head = "[[sinks.vsock]]\n#";
  const std::string at_cap = head + std::string(kCap - head.size() - 1, 'x') + "\n";
  ASSERT_EQ(at_cap.size(), kCap);
  const std::string base = dir.write("agent.toml", at_cap);
  EXPECT_EQ(load_error(base, dir.file("agent.d")), "");
  dir.write("agent.toml", at_cap + "\n");
  EXPECT_EQ(
      load_error(base, dir.file("agent.d")),
      base + ": 1048577 bytes, over the 1 MiB (1048576 bytes) limit for a configuration file");
}

TEST(ConfigFiles, SymlinkToARegularFileIsStillRead) {
  cellos::telemetry::testing::TempDir dir;
  const std::string real = dir.write("real.toml", "[[sinks.vsock]]\n");
  std::filesystem::create_symlink(real, dir.file("agent.toml"));
  const auto cfg = ct::load_config_file(dir.file("agent.toml"), dir.file("agent.d"));
  EXPECT_EQ(cfg.sinks.size(), 1u);
}

TEST(ConfigFiles, DropInDirectoryThatCannotBeListedIsAnError) {
  cellos::telemetry::testing::TempDir dir;
  const std::string base = dir.write("agent.toml", "[[sinks.vsock]]\n");
  dir.write("agent.d", "a file where the drop-in directory belongs");
  EXPECT_EQ(load_error(base, dir.file("agent.d")),
            dir.file("agent.d") + ": cannot list the drop-in directory: Not a directory");
  // No agent.d at all is the usual case, not an error.
  EXPECT_EQ(load_error(base, dir.file("no-such-dir")), "");
}

}  // namespace
