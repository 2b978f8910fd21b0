// Each in-tree plugin's README carries its options table exactly as the plugin declares it, so
// the documentation cannot drift from the code.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness.hpp"
#include "plugin_library.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

TEST(PluginReadme, EveryInTreePluginReadmeHasItsGeneratedOptionsTable) {
  const auto files = ct::list_plugin_files(t::plugin_dir());
  ASSERT_FALSE(files.empty());
  for (const auto& path : files) {
    const std::string file = std::filesystem::path(path).filename().string();
    const bool probe = file.starts_with("probe-");
    const std::string name = file.substr(probe ? 6 : 5, file.size() - (probe ? 6 : 5) - 3);
    const std::string readme =
        t::source_dir() + (probe ? "/probes/" : "/sinks/") + name + "/README.md";
    const auto o = t::run_agent({"--options-markdown", path});
    ASSERT_EQ(o.exit_code, 0) << o.err;
    EXPECT_NE(t::read_file(readme).find(o.out), std::string::npos)
        << readme << " lacks the current options table; regenerate it with\n  cellos-telemetry "
        << "--options-markdown " << path << "\nwhich prints:\n"
        << o.out;
  }
}

}  // namespace
