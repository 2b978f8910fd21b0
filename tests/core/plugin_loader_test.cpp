// The loader's checks, one test per failure, against real .so fixtures.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

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

std::string path_of(const std::string& file) {
  return t::fixture_dir() + "/" + file;
}

TEST(PluginLoader, LoadsAGoodPlugin) {
  const auto lib =
      ct::find_and_load_plugin({"/nonexistent", t::fixture_dir()}, CT_KIND_PROBE, "scripted");
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
  EXPECT_EQ(
      load_error(CT_KIND_SINK, "wrongkind"),
      path_of("sink-wrongkind.so") + ": is a probe plugin, but the config names it as a sink");
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

namespace {

// Copies a fixture into a fresh directory under the build tree (whose ancestors are trusted),
// so its ownership and modes can be changed.
class UntrustedPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = t::binary_dir() + "/trust-test-" + std::to_string(getpid()) + "-" +
          ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir);
    std::filesystem::create_directory(dir);
    chmod(dir.c_str(), 0755);
    file = dir + "/probe-scripted.so";
    std::filesystem::copy_file(t::fixture_dir() + "/probe-scripted.so", file);
    chmod(file.c_str(), 0644);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string error() {
    try {
      ct::load_plugin_file(file, CT_KIND_PROBE, "scripted");
    } catch (const ct::ConfigError& e) {
      return e.what();
    }
    return "";
  }
  std::string dir, file;
};

TEST_F(UntrustedPlugin, OwnedByUsAndNotWritableByOthersLoads) {
  EXPECT_EQ(error(), "");
}

TEST_F(UntrustedPlugin, WorldWritableFileIsRefused) {
  chmod(file.c_str(), 0666);
  EXPECT_EQ(error(), file + ": untrusted plugin: the file is writable by everyone (mode 0666)");
  EXPECT_NO_THROW(ct::load_plugin_file(file, CT_KIND_PROBE, "scripted", true));
}

TEST_F(UntrustedPlugin, GroupWritableFileIsRefusedUnlessTheGroupIsRoot) {
  chmod(file.c_str(), 0664);
  ASSERT_EQ(chown(file.c_str(), static_cast<uid_t>(-1), 0), 0);
  EXPECT_EQ(error(), "");
  ASSERT_EQ(chown(file.c_str(), static_cast<uid_t>(-1), 4242), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: the file is writable by group 4242 (mode 0664)");
}

TEST_F(UntrustedPlugin, FileOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a file away";
  ASSERT_EQ(chown(file.c_str(), 4242, static_cast<gid_t>(-1)), 0);
  EXPECT_EQ(error(), file +
                         ": untrusted plugin: the file is owned by uid 4242, neither root nor "
                         "the agent's uid 0");
}

TEST_F(UntrustedPlugin, WritableDirectoryIsRefused) {
  chmod(dir.c_str(), 0777);
  EXPECT_EQ(error(), file + ": untrusted plugin: its directory " + dir +
                         " is writable by everyone (mode 0777)");
  chmod(dir.c_str(), 01777);  // sticky, as /tmp: others cannot replace our file
  EXPECT_EQ(error(), "");
}

TEST_F(UntrustedPlugin, DirectoryOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  ASSERT_EQ(chown(dir.c_str(), 4242, static_cast<gid_t>(-1)), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: its directory " + dir +
                         " is owned by uid 4242, neither root nor the agent's uid 0");
}

TEST_F(UntrustedPlugin, TheAgentRefusesItWithExit78AndAcceptsItWithTheDeveloperFlag) {
  chmod(file.c_str(), 0666);
  t::TempDir tmp;
  const std::string cfg = tmp.write("a.toml", "[[probes.scripted]]\n[[sinks.capture]]\n");
  auto o = t::run_agent(
      {"--config", cfg, "--plugin-dir", dir, "--plugin-dir", t::fixture_dir(), "--check-config"});
  EXPECT_EQ(o.exit_code, 78);
  EXPECT_NE(o.err.find("untrusted plugin: the file is writable by everyone"), std::string::npos);
  o = t::run_agent({"--config", cfg, "--plugin-dir", dir, "--plugin-dir", t::fixture_dir(),
                    "--check-config", "--allow-untrusted-plugins"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.err.find("plugin ownership and permissions are not checked"), std::string::npos);
}

}  // namespace
