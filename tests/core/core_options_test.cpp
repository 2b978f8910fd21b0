// The core's own options ([agent], and the keys the core reads from every instance table) are
// declared like a plugin's: one table each, which --help, the man page and the top README's
// configuration tables are generated from, so none of them can drift from the code.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config.hpp"
#include "core_options.hpp"
#include "harness.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

std::vector<std::string> keys_of(std::span<const ct_option_spec> specs) {
  std::vector<std::string> keys;
  for (const auto& s : specs) keys.emplace_back(s.key);
  return keys;
}

TEST(CoreOptions, AgentTableDeclaresEveryAgentKey) {
  EXPECT_EQ(keys_of(ct::agent_options()),
            (std::vector<std::string>{"plugin_dir", "heartbeat_interval_ms", "shutdown_timeout_ms",
                                      "call_time_limit_ms", "disable"}));
  EXPECT_EQ(keys_of(ct::core_options(CT_KIND_PROBE)), (std::vector<std::string>{"enabled"}));
  EXPECT_EQ(keys_of(ct::core_options(CT_KIND_SINK)),
            (std::vector<std::string>{"enabled", "match", "queue_capacity", "queue_bytes"}));
}

// A config that sets nothing gets exactly the declared defaults: there is no second copy of
// them in the config structs to drift.
const ct_option_spec& spec(std::span<const ct_option_spec> specs, std::string_view key) {
  for (const auto& s : specs) {
    if (key == s.key) return s;
  }
  throw std::logic_error("not declared: " + std::string(key));
}

TEST(CoreOptions, UnsetKeysTakeTheDeclaredDefaults) {
  const auto cfg = ct::parse_config("[[probes.p]]\n[[sinks.s]]\n", "agent.toml");
  const auto agent = ct::agent_options();
  EXPECT_EQ(cfg.plugin_dir, spec(agent, "plugin_dir").string_default);
  EXPECT_EQ(cfg.heartbeat_interval_ms, spec(agent, "heartbeat_interval_ms").int_default);
  EXPECT_EQ(cfg.shutdown_timeout_ms, spec(agent, "shutdown_timeout_ms").int_default);
  EXPECT_EQ(cfg.call_time_limit_ms, spec(agent, "call_time_limit_ms").int_default);
  EXPECT_EQ(spec(agent, "disable").list_default, nullptr);
  EXPECT_TRUE(cfg.disable.empty());
  const auto sink = ct::core_options(CT_KIND_SINK);
  EXPECT_EQ(cfg.probes[0].enabled, spec(sink, "enabled").int_default != 0);
  EXPECT_EQ(cfg.sinks[0].enabled, spec(sink, "enabled").int_default != 0);
  std::vector<std::string> match;
  for (auto p = spec(sink, "match").list_default; p && *p; ++p) match.emplace_back(*p);
  EXPECT_EQ(cfg.sinks[0].match, match);
  EXPECT_EQ(cfg.sinks[0].queue_capacity, spec(sink, "queue_capacity").int_default);
}

TEST(CoreOptions, HelpListsTheAgentAndInstanceOptions) {
  const auto o =
      t::run_agent({"--help", "--plugin-dir", t::plugin_dir(), "--config", "/nonexistent"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  const auto at = [&](const std::string& s) { return o.out.find(s); };
  const auto agent = at("\n[agent] options:\n");
  const auto probes = at("\nEvery [[probes.NAME]] table also takes:\n");
  const auto sinks = at("\nEvery [[sinks.NAME]] table also takes:\n");
  const auto plugins = at("\nPlugins in ");
  ASSERT_NE(agent, std::string::npos) << o.out;
  ASSERT_NE(probes, std::string::npos) << o.out;
  ASSERT_NE(sinks, std::string::npos) << o.out;
  EXPECT_LT(agent, probes);
  EXPECT_LT(probes, sinks);
  EXPECT_LT(sinks, plugins);
  // The same lines a plugin's options get, each in its own section.
  const auto in = [&](const std::string& s, size_t from, size_t to) {
    const auto p = o.out.find(s, from);
    return p != std::string::npos && p < to;
  };
  EXPECT_TRUE(
      in("    heartbeat_interval_ms (int, default 5000; 0 to 3600000)\n        ", agent, probes))
      << o.out;
  EXPECT_TRUE(in("    disable (string list, default [])\n", agent, probes)) << o.out;
  EXPECT_TRUE(in("    enabled (bool, default true)\n", probes, sinks)) << o.out;
  EXPECT_TRUE(in("    queue_capacity (int, default 65536; 1 to 16777216)\n", sinks, plugins))
      << o.out;
}

TEST(CoreOptions, OptionsMarkdownPrintsTheCoreTables) {
  const auto agent = t::run_agent({"--options-markdown", "agent"});
  ASSERT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_EQ(agent.out.rfind("| key | type | default | allowed | description |\n", 0), 0u);
  EXPECT_NE(agent.out.find("| `shutdown_timeout_ms` | int | `2000` | 0 to 60000 |"),
            std::string::npos)
      << agent.out;
  const auto sinks = t::run_agent({"--options-markdown", "sinks"});
  ASSERT_EQ(sinks.exit_code, 0) << sinks.err;
  EXPECT_NE(sinks.out.find("| `match` | string list | `[\"*\"]` |"), std::string::npos)
      << sinks.out;
  const auto probes = t::run_agent({"--options-markdown", "probes"});
  ASSERT_EQ(probes.exit_code, 0) << probes.err;
  EXPECT_NE(probes.out.find("| `enabled` | bool | `true` |"), std::string::npos) << probes.out;
  EXPECT_EQ(probes.out.find("match"), std::string::npos) << probes.out;
  // Any other name is a plugin file, as before.
  const auto bad = t::run_agent({"--options-markdown", "agents"});
  EXPECT_EQ(bad.exit_code, 78) << bad.err;
  EXPECT_EQ(bad.out, "");
}

// The top README's configuration tables are the generated ones.
TEST(CoreOptions, ReadmeHasTheGeneratedCoreTables) {
  const std::string readme = t::read_file(t::source_dir() + "/README.md");
  for (const char* table : {"agent", "probes", "sinks"}) {
    const auto o = t::run_agent({"--options-markdown", table});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(readme.find(o.out), std::string::npos)
        << "README.md lacks the current " << table << " options table; regenerate it with\n  "
        << "cellos-telemetry --options-markdown " << table << "\nwhich prints:\n"
        << o.out;
  }
}

// The man page is --help set in roff (packaging/man-page.cmake), the core's options included.
TEST(CoreOptions, ManPageListsTheAgentAndInstanceOptions) {
  t::TempDir dir;
  t::ChildProcess cmake(
      {CT_CMAKE_COMMAND, "-DAGENT=" + t::agent_path(), "-DPLUGIN_DIR=" + t::plugin_dir(),
       "-DINSTALLED_PLUGIN_DIR=/usr/lib/cellos-telemetry/plugins", "-DVERSION=0.0.0",
       "-DOUT=" + dir.file("cellos-telemetry.1"), "-P",
       t::source_dir() + "/packaging/man-page.cmake"},
      dir);
  ASSERT_EQ(cmake.wait(std::chrono::seconds(60)), 0) << cmake.err();
  const std::string page = t::read_file(dir.file("cellos-telemetry.1"));
  const auto contains = [&](const std::string& s) { return page.find(s) != std::string::npos; };
  EXPECT_TRUE(contains("\n[agent] options:\n")) << page;
  EXPECT_TRUE(contains("    heartbeat_interval_ms (int, default 5000; 0 to 3600000)\n")) << page;
  EXPECT_TRUE(contains("\nEvery [[sinks.NAME]] table also takes:\n")) << page;
  EXPECT_TRUE(contains("    queue_capacity (int, default 65536; 1 to 16777216)\n")) << page;
}

}  // namespace
