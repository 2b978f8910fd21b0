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

const std::string kAgentAbi = std::to_string(CT_ABI_MAJOR) + "." + std::to_string(CT_ABI_MINOR);

TEST(PluginLoader, AbiMajorDiffers) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "newmajor"),
            path_of("probe-newmajor.so") + ": plugin ABI " + std::to_string(CT_ABI_MAJOR + 1) +
                ".0 is incompatible with the agent's ABI " + kAgentAbi +
                " (major versions differ): rebuild it against this SDK");
}

TEST(PluginLoader, PluginOfAbiOneIsRefusedByAnAbiTwoAgent) {
  static_assert(CT_ABI_MAJOR == 2);
  EXPECT_EQ(load_error(CT_KIND_PROBE, "oldmajor"),
            path_of("probe-oldmajor.so") +
                ": plugin ABI 1.0 is incompatible with the agent's ABI 2.1 (major versions "
                "differ): rebuild it against this SDK");
}

TEST(PluginLoader, AbiMinorNewerThanTheAgents) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "newminor"),
            path_of("probe-newminor.so") + ": plugin ABI " + std::to_string(CT_ABI_MAJOR) + "." +
                std::to_string(CT_ABI_MINOR + 99) + " is newer than the agent's ABI " + kAgentAbi +
                ": upgrade the agent or rebuild the plugin");
}

TEST(PluginLoader, IncompleteDescriptorNamesTheMissingField) {
  EXPECT_EQ(load_error(CT_KIND_PROBE, "incomplete"),
            path_of("probe-incomplete.so") + ": invalid descriptor: create is missing");
}

// c_probe.c builds with -Wmissing-prototypes -Werror against plugin_abi.h alone; here it must
// load, and leave the sink-only callbacks null as the header says a probe should.
TEST(PluginLoader, PlainCProbeLoads) {
  const auto lib = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_PROBE, "cprobe");
  const ct_plugin& d = lib->descriptor();
  EXPECT_EQ(std::string(d.name), "cprobe");
  EXPECT_EQ(d.consume, nullptr);
  EXPECT_EQ(d.flush, nullptr);
}

// The SDK's macro does the same for a C++ probe.
TEST(PluginLoader, SdkProbesLeaveSinkOnlyCallbacksNull) {
  const auto probe = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_PROBE, "scripted");
  EXPECT_EQ(probe->descriptor().consume, nullptr);
  EXPECT_EQ(probe->descriptor().flush, nullptr);
  const auto sink = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_SINK, "capture");
  EXPECT_NE(sink->descriptor().consume, nullptr);
  EXPECT_NE(sink->descriptor().flush, nullptr);
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

// Libraries are mapped through /proc/self/fd/N, and glibc reuses a loaded object by name: a
// descriptor number freed by one plugin and reused for the next must not give the first back.
TEST(PluginLoader, PluginsLoadedOneAfterAnotherAreEachTheirOwn) {
  for (const char* name : {"scripted", "thrower", "scripted"}) {
    const auto lib = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_PROBE, name);
    EXPECT_EQ(std::string(lib->descriptor().name), name);
  }
  const auto a = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_PROBE, "scripted");
  const auto b = ct::find_and_load_plugin({t::fixture_dir()}, CT_KIND_SINK, "capture");
  EXPECT_EQ(std::string(a->descriptor().name), "scripted");
  EXPECT_EQ(std::string(b->descriptor().name), "capture");
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
  // Replaces the copied file by a symbolic link to target.
  void make_link(const std::string& target) {
    std::filesystem::remove(file);
    std::filesystem::create_symlink(target, file);
  }
  // A trusted copy of a fixture at dir/SUB/probe-scripted.so; returns its path.
  std::string copy_into(const std::string& sub, const std::string& fixture = "probe-scripted.so") {
    std::filesystem::create_directories(dir + "/" + sub);
    chmod((dir + "/" + sub).c_str(), 0755);
    const std::string to = dir + "/" + sub + "/probe-scripted.so";
    std::filesystem::copy_file(t::fixture_dir() + "/" + fixture, to);
    chmod(to.c_str(), 0644);
    return to;
  }
  std::string dir, file;
};

// An unprivileged user's uid (nobody), for directories and links they own.
constexpr uid_t kNobody = 65534;

// --plugin-dir A/B/L/.. with L a link into a directory another user owns: the kernel resolves
// L first, so the file loaded is the other user's, not A/B's. The check must follow the same
// path, not a lexically normalised one.
TEST_F(UntrustedPlugin, DotDotAfterASymlinkIsCheckedWhereTheKernelGoes) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a directory away";
  copy_into("B");       // root's file, where the text of the path seems to point
  copy_into("theirs");  // the other user's file, where the kernel goes
  std::filesystem::create_directory(dir + "/theirs/sub");
  for (const char* p : {"/theirs", "/theirs/sub", "/theirs/probe-scripted.so"}) {
    ASSERT_EQ(chown((dir + p).c_str(), kNobody, kNobody), 0) << p;
  }
  std::filesystem::create_symlink(dir + "/theirs/sub", dir + "/B/L");
  try {
    ct::find_and_load_plugin({dir + "/B/L/.."}, CT_KIND_PROBE, "scripted");
    FAIL() << "the other user's file was loaded";
  } catch (const ct::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir +
                                         "/B/L/../probe-scripted.so: untrusted plugin: its "
                                         "directory " +
                                         dir +
                                         "/theirs is owned by uid 65534, neither root nor the "
                                         "agent's uid 0");
  }
}

// What is loaded is what was opened and checked: a link swapped in between changes nothing.
TEST_F(UntrustedPlugin, SymlinkSwappedAfterTheCheckHasNoEffect) {
  make_link(copy_into("real"));
  const std::string other = copy_into("other", "probe-misnamed.so");  // declares 'thrower'
  struct Unhook {
    ~Unhook() { ct::set_before_load_hook_for_test({}); }
  } unhook;
  ct::set_before_load_hook_for_test([&] {
    std::filesystem::create_symlink(other, file + ".new");
    std::filesystem::rename(file + ".new", file);
  });
  const auto lib = ct::load_plugin_file(file, CT_KIND_PROBE, "");
  EXPECT_EQ(std::string(lib->descriptor().name), "scripted");
}

// In a sticky directory another user may own a link and flip it at will: refused.
TEST_F(UntrustedPlugin, SymlinkOwnedByAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a link away";
  chmod(dir.c_str(), 01777);
  make_link(copy_into("real"));
  ASSERT_EQ(lchown(file.c_str(), kNobody, kNobody), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: the symbolic link " + file +
                         " is owned by uid 65534, neither root nor the agent's uid 0");
}

// A root-owned plugin reached through a link is still in the directory the link points into.
TEST_F(UntrustedPlugin, SymlinkIntoAWorldWritableDirectoryIsRefused) {
  copy_into("open");
  chmod((dir + "/open").c_str(), 0777);
  make_link("open/probe-scripted.so");
  EXPECT_EQ(error(), file + ": untrusted plugin: its directory " + dir +
                         "/open is writable by everyone (mode 0777)");
}

TEST_F(UntrustedPlugin, SymlinkedPluginDirectoryIntoAWorldWritableDirectoryIsRefused) {
  copy_into("open");
  chmod((dir + "/open").c_str(), 0777);
  std::filesystem::create_symlink("open", dir + "/plugins");
  try {
    ct::find_and_load_plugin({dir + "/plugins"}, CT_KIND_PROBE, "scripted");
    FAIL() << "loaded from a world-writable directory";
  } catch (const ct::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir +
                                         "/plugins/probe-scripted.so: untrusted plugin: its "
                                         "directory " +
                                         dir + "/open is writable by everyone (mode 0777)");
  }
}

TEST_F(UntrustedPlugin, TrustedSymlinksAreFollowed) {
  make_link(copy_into("real"));
  EXPECT_EQ(error(), "");
  std::filesystem::create_symlink("real", dir + "/plugins");
  EXPECT_NO_THROW(
      ct::find_and_load_plugin({dir + "/plugins/../plugins"}, CT_KIND_PROBE, "scripted"));
}

TEST_F(UntrustedPlugin, OwnedByUsAndNotWritableByOthersLoads) {
  EXPECT_EQ(error(), "");
}

TEST_F(UntrustedPlugin, WorldWritableFileIsRefused) {
  chmod(file.c_str(), 0666);
  EXPECT_EQ(error(), file + ": untrusted plugin: the file is writable by everyone (mode 0666)");
  EXPECT_NO_THROW(ct::load_plugin_file(file, CT_KIND_PROBE, "scripted", true));
}

// "Writable by no one else" includes group 0: its members are not the agent's user.
TEST_F(UntrustedPlugin, GroupWritableFileIsRefusedWhateverTheGroup) {
  CT_SKIP_UNLESS_ROOT("chown to groups this user is not in");
  chmod(file.c_str(), 0664);
  ASSERT_EQ(chown(file.c_str(), static_cast<uid_t>(-1), 0), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: the file is writable by group 0 (mode 0664)");
  ASSERT_EQ(chown(file.c_str(), static_cast<uid_t>(-1), 4242), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: the file is writable by group 4242 (mode 0664)");
}

TEST_F(UntrustedPlugin, GroupWritableDirectoryIsRefusedWhateverTheGroup) {
  CT_SKIP_UNLESS_ROOT("chown to groups this user is not in");
  chmod(dir.c_str(), 0775);
  ASSERT_EQ(chown(dir.c_str(), static_cast<uid_t>(-1), 0), 0);
  EXPECT_EQ(error(), file + ": untrusted plugin: its directory " + dir +
                         " is writable by group 0 (mode 0775)");
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
