// The loader's checks, one test per failure, against real .so fixtures.
#include <gtest/gtest.h>

#include "config.hpp"
#include "harness.hpp"
#include "plugin_library.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

std::string load_error(ct_kind kind, const std::string& name) {
  try {
    ct::find_and_load_plugin({t::fixture_dir()}, kind, name);
  } catch (const ct::ConfigError& e) {
    return e.what();
  }
  return "";
}

std::string path_of(const std::string& file) { return t::fixture_dir() + "/" + file; }

TEST(PluginLoader, LoadsAGoodPlugin) {
  const auto lib = ct::find_and_load_plugin({"/nonexistent", t::fixture_dir()}, CT_KIND_PROBE,
                                            "scripted");
  EXPECT_EQ(std::string(lib->descriptor().name), "scripted");
  EXPECT_EQ(lib->path(), path_of("probe-scripted.so"));
}

TEST(PluginLoader, NotFoundNamesEveryPathSearched) {
  try {
    ct::find_and_load_plugin({"/a", "/b"}, CT_KIND_SINK, "nope");
    FAIL();
  } catch (const ct::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "sink-nope.so: sink plugin 'nope' not found (searched: /a/sink-nope.so, "
              "/b/sink-nope.so)");
  }
}

TEST(PluginLoader, NotAnElfObject) {
  const std::string err = load_error(CT_KIND_PROBE, "notelf");
  EXPECT_EQ(err.rfind(path_of("probe-notelf.so") + ": not a loadable shared object: ", 0), 0u)
      << err;
}

TEST(PluginLoader, EntryPointMissing) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "noentry"),
            path_of("probe-noentry.so") +
                ": entry point 'cellos_telemetry_plugin' not found: not a cellos-telemetry "
                "plugin, or built without the SDK macro");
}

TEST(PluginLoader, AbiMajorDiffers) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "newmajor"),
            path_of("probe-newmajor.so") +
                ": plugin ABI 2.0 is incompatible with the agent's ABI 1.0 (major versions "
                "differ): rebuild it against this SDK");
}

TEST(PluginLoader, AbiMinorNewerThanTheAgents) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "newminor"),
            path_of("probe-newminor.so") +
                ": plugin ABI 1.99 is newer than the agent's ABI 1.0: upgrade the agent or "
                "rebuild the plugin");
}

TEST(PluginLoader, KindDiffersFromTheConfigSection) {
  EXPECT_EQ(load_error(CT_KIND_SINK, "wrongkind"),
            path_of("sink-wrongkind.so") +
                ": is a probe plugin, but the config names it as a sink");
}

TEST(PluginLoader, DeclaredNameDiffersFromTheFileName) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "misnamed"),
            path_of("probe-misnamed.so") +
                ": declares the name 'thrower', but its file name says 'misnamed'");
}

TEST(PluginLoader, ListsPluginFilesSorted) {
  const auto files = ct::list_plugin_files(t::fixture_dir());
  ASSERT_FALSE(files.empty());
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  EXPECT_NE(std::find(files.begin(), files.end(), path_of("sink-capture.so")), files.end());
}

}  // namespace
