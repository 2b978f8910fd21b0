// The ids of /proc/PID/status, against a fixture of the kernel's own text.
#include "status_ids.hpp"

#include <gtest/gtest.h>

#include <sys/prctl.h>

#include <fstream>
#include <iterator>
#include <string>

namespace cp = cellos::telemetry::process;

namespace {

// The head of a real /proc/PID/status (Linux 6.18) of a setuid-root program run by uid 1000.
const std::string kStatus =
    "Name:\tpasswd\n"
    "Umask:\t0022\n"
    "State:\tS (sleeping)\n"
    "Tgid:\t4242\n"
    "Ngid:\t0\n"
    "Pid:\t4242\n"
    "PPid:\t4200\n"
    "TracerPid:\t0\n"
    "Uid:\t1000\t0\t0\t0\n"
    "Gid:\t1000\t1000\t1000\t1000\n"
    "FDSize:\t64\n"
    "Groups:\t24 27 1000 \n";

}  // namespace

TEST(ProcessStatusIds, RealAndEffectiveOfBothKinds) {
  const auto ids = cp::parse_status_ids(kStatus);
  ASSERT_TRUE(ids);
  EXPECT_EQ(ids->uid, 1000u);
  EXPECT_EQ(ids->euid, 0u);
  EXPECT_EQ(ids->gid, 1000u);
  EXPECT_EQ(ids->egid, 1000u);
}

TEST(ProcessStatusIds, NameThatLooksLikeAnIdLineIsNotOne) {
  // The kernel escapes a newline in a name as \n, so "Uid:" can only start a real line; a name
  // holding the text must not be taken for it.
  const std::string status = "Name:\tUid:\t7\t7\n" + kStatus.substr(kStatus.find("Umask"));
  EXPECT_EQ(cp::parse_status_ids(status)->uid, 1000u);
}

TEST(ProcessStatusIds, MissingOrMalformedLinesGiveNothing) {
  EXPECT_FALSE(cp::parse_status_ids(""));
  EXPECT_FALSE(cp::parse_status_ids("Uid:\t0\t0\t0\t0\n"));                 // no Gid
  EXPECT_FALSE(cp::parse_status_ids("Uid:\t0\nGid:\t0\t0\t0\t0\n"));        // one field
  EXPECT_FALSE(cp::parse_status_ids("Uid:\tx\t0\nGid:\t0\t0\n"));           // not a number
  EXPECT_FALSE(cp::parse_status_ids("Uid:\t4294967296\t0\nGid:\t0\t0\n"));  // over 32 bits
  EXPECT_FALSE(cp::parse_status_ids("Uid:\t12ab\t0\nGid:\t0\t0\n"));
  // Cut short after the Uid line, as a read into a small buffer would be.
  EXPECT_FALSE(cp::parse_status_ids(kStatus.substr(0, kStatus.find("Gid:") + 5)));
}

TEST(ProcessStatusName, TheFirstLineUnescaped) {
  EXPECT_EQ(cp::parse_status_name(kStatus), "passwd");
  // prctl(PR_SET_NAME, "a\\b\nc\td e\x01"), as Linux 6.18 writes it in status.
  EXPECT_EQ(cp::parse_status_name("Name:\ta\\\\b\\nc\td e\x01\nUmask:\t0022\n"),
            "a\\b\nc\td e\x01");
  EXPECT_EQ(cp::parse_status_name("Name:\t\n"), "");
  EXPECT_EQ(cp::parse_status_name("Name:\tends\\\n"), "ends\\");  // a lone backslash, kept
}

TEST(ProcessStatusName, AbsentOrCutShortGivesNothing) {
  EXPECT_FALSE(cp::parse_status_name(""));
  EXPECT_FALSE(cp::parse_status_name("Umask:\t0022\nName:\tlate\n"));  // not the first line
  EXPECT_FALSE(cp::parse_status_name("Name:\tcut-sho"));               // no end of line
  EXPECT_FALSE(cp::parse_status_name("Name: spaced\n"));               // not the kernel's form
}

// The same name as /proc/PID/stat shows, from the kernel itself, for a name with every byte the
// kernel escapes.
TEST(ProcessStatusName, MatchesStatForAHostileName) {
  char saved[32] = {};
  ASSERT_EQ(prctl(PR_GET_NAME, saved), 0);
  const char hostile[] = "a\\b\nc) R 1 (";
  ASSERT_EQ(prctl(PR_SET_NAME, hostile), 0);
  std::ifstream in("/proc/thread-self/status");
  const std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  prctl(PR_SET_NAME, saved);
  EXPECT_EQ(cp::parse_status_name(status), std::string(hostile));
}
