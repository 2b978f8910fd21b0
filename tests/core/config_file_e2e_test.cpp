// The real agent on configuration files that are not what they claim to be: a FIFO, a device,
// a directory, a file whose read fails, a file far over the 1 MiB cap. Each must stop start-up
// with exit 78 and one message naming the file, without blocking on it or reading what it
// refuses, and before any probe runs (the capture sink's file stays empty).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;
using namespace std::chrono_literals;

namespace {

// Generous: only a build that blocks on a FIFO (or reads /dev/zero forever) gets near it.
constexpr auto kDeadline = 30s;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
constexpr bool kAddressSanitizer = __has_feature(address_sanitizer);
#else
constexpr bool kAddressSanitizer = false;
#endif

// A broken build reads /dev/zero until memory runs out (20 GB resident was seen): the agent
// gets at most 1 GiB of data segment (inherited across fork and exec), so that such a failure
// fails the test, not the machine. Not under ASan, whose shadow memory counts as data.
class DataLimitForChildren {
 public:
  DataLimitForChildren() {
    getrlimit(RLIMIT_DATA, &old_);
    if (kAddressSanitizer) return;
    rlimit capped = old_;
    capped.rlim_cur = std::min<rlim_t>(old_.rlim_cur, rlim_t{1} << 30);
    setrlimit(RLIMIT_DATA, &capped);
  }
  ~DataLimitForChildren() { setrlimit(RLIMIT_DATA, &old_); }
  DataLimitForChildren(const DataLimitForChildren&) = delete;
  DataLimitForChildren& operator=(const DataLimitForChildren&) = delete;

 private:
  rlimit old_{};
};

struct BadDropIn : ::testing::Test {
  t::TempDir dir;
  std::string base, events;

  void SetUp() override {
    events = dir.file("events");
    base = dir.write("agent.toml",
                     "[[probes.scripted]]\nevents = ['process.spawned 1 x']\n"
                     "[[sinks.capture]]\npath = \"" +
                         events + "\"\n");
    std::filesystem::create_directory(dir.file("agent.d"));
    dir.write("agent.d/10-good.toml", "[agent]\nheartbeat_interval_ms = 1000\n");
  }

  t::Outcome run(const std::string& config, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"--config", config, "--plugin-dir", t::fixture_dir()};
    args.insert(args.end(), extra.begin(), extra.end());
    const DataLimitForChildren limit;
    return t::run_agent(args, kDeadline);
  }

  // Exit 78 with the message naming the file, and nothing ran.
  void expect_refused(const t::Outcome& o, const std::string& message) const {
    EXPECT_EQ(o.exit_code, 78) << o.err;
    EXPECT_NE(o.err.find("cellos-telemetry: error: " + message), std::string::npos) << o.err;
    EXPECT_EQ(t::read_file(events), "");
  }
};

// The largest resident set of any child this test process has waited for, in KiB.
long children_peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_maxrss;
}

// The agent idles at a few MiB; reading a refused file would take the file's size or more.
constexpr long kPeakRssLimitKib = 64 * 1024;

TEST_F(BadDropIn, FifoExits78WithoutBlocking) {
  const std::string fifo = dir.file("agent.d/20-fifo.toml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(run(base), fifo + ": not a regular file (a FIFO)");
  expect_refused(run(base, {"--check-config"}), fifo + ": not a regular file (a FIFO)");
}

TEST_F(BadDropIn, SymlinkToDevZeroExits78WithoutReadingIt) {
  const std::string link = dir.file("agent.d/20-zero.toml");
  std::filesystem::create_symlink("/dev/zero", link);
  expect_refused(run(base), link + ": not a regular file (a character device)");
  EXPECT_LT(children_peak_rss_kib(), kPeakRssLimitKib);
}

TEST_F(BadDropIn, HundredMegabyteFileExits78WithoutReadingIt) {
  const std::string big = dir.file("agent.d/20-big.toml");
  // Sparse: 100 MB of NULs that cost no disk.
  std::filesystem::resize_file(dir.write("agent.d/20-big.toml", ""), 100'000'000);
  expect_refused(run(base), big +
                                ": 100000000 bytes, over the 1 MiB (1048576 bytes) limit for a "
                                "configuration file");
  EXPECT_LT(children_peak_rss_kib(), kPeakRssLimitKib);
}

TEST_F(BadDropIn, DirectoryExits78) {
  std::filesystem::create_directory(dir.file("agent.d/20-dir.toml"));
  expect_refused(run(base), dir.file("agent.d/20-dir.toml") + ": not a regular file (a directory)");
}

TEST_F(BadDropIn, ReadErrorExits78) {
  // procfs calls it a regular file; reading from offset 0 fails with EIO.
  std::filesystem::create_symlink("/proc/self/mem", dir.file("agent.d/20-mem.toml"));
  expect_refused(run(base), dir.file("agent.d/20-mem.toml") +
                                ": cannot read the configuration file: Input/output error");
}

TEST_F(BadDropIn, FifoGivenAsTheConfigFileExits78WithoutBlocking) {
  const std::string fifo = dir.file("fifo.toml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  expect_refused(run(fifo), fifo + ": not a regular file (a FIFO)");
}

TEST_F(BadDropIn, GoodDropInsStillLoad) {
  const auto o = run(base, {"--check-config"});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find(dir.file("agent.d/10-good.toml")), std::string::npos) << o.out;
}

}  // namespace
