// The record format of /dev/kmsg, on records read from this kernel.
#include "kmsg_record.hpp"

#include <gtest/gtest.h>

#include "record_file.hpp"

namespace ck = cellos::telemetry::kernel;
namespace kt = cellos::telemetry::kernel::testing;

TEST(KmsgRecord, PrefixGivesLevelFacilitySequenceAndTime) {
  const auto records = kt::read_records("segfault.txt");
  ASSERT_EQ(records.size(), 4u);
  const auto r = ck::parse_kmsg_record(records[1]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->level, 6u);
  EXPECT_EQ(r->facility, 0u);
  EXPECT_EQ(r->seq, 364u);
  EXPECT_EQ(r->ts_usec, 11576334407u);
  EXPECT_EQ(r->flags, '-');
  EXPECT_FALSE(r->caller_tid);
  EXPECT_EQ(r->message.substr(0, 32), "segv[25143]: segfault at 10 ip 0");
  EXPECT_TRUE(r->dict.empty());
}

TEST(KmsgRecord, ContinuationLinesAreTheRecordsKeyValuePairs) {
  const auto records = kt::read_records("boot_continuation.txt");
  ASSERT_EQ(records.size(), 14u);  // 24 lines: 10 of them continuation lines
  const auto r = ck::parse_kmsg_record(records[7]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 190u);
  EXPECT_EQ(r->message,
            "acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI "
            "HPX-Type3]");
  ASSERT_EQ(r->dict.size(), 2u);
  EXPECT_EQ(r->dict[0].first, "SUBSYSTEM");
  EXPECT_EQ(r->dict[0].second, "acpi");
  EXPECT_EQ(r->dict[1].first, "DEVICE");
  EXPECT_EQ(r->dict[1].second, "+acpi:PNP0A08:00");
}

TEST(KmsgRecord, UserFacilityIsWhatRootWritingToTheDeviceGets) {
  // "<3>..." written by root: level 3, but the kernel files it under facility 1 (user).
  const auto records = kt::read_records("user_forged.txt");
  ASSERT_EQ(records.size(), 3u);
  const auto r = ck::parse_kmsg_record(records[0]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->level, 3u);
  EXPECT_EQ(r->facility, 1u);
}

TEST(KmsgRecord, AMultiLineMessageIsOneRecordWithItsNewlineEscaped) {
  const auto records = kt::read_records("user_forged.txt");  // the record points into these
  const auto r = ck::parse_kmsg_record(records[2]);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->message, "multi line one\\x0amulti line two");
  EXPECT_EQ(ck::unescape_kmsg(r->message), "multi line one\nmulti line two");
}

TEST(KmsgRecord, EscapesUndoneExceptNul) {
  const auto records = kt::read_records("user_forged.txt");
  const auto r = ck::parse_kmsg_record(records[1]);
  ASSERT_TRUE(r);
  EXPECT_EQ(ck::unescape_kmsg(r->message), "ct-hostile h\xc3\xa9llo \x1b[31m bs\\ \xff tab\tend");
  EXPECT_EQ(ck::unescape_kmsg("a\\x00b\\x4\\xzz\\"), "a\\x00b\\x4\\xzz\\");
}

TEST(KmsgRecord, CallerFieldAndUnknownFieldsAfterTheFour) {
  const auto r = ck::parse_kmsg_record("6,12,345,-,caller=T77,future=1;hello\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->caller_tid, 77u);
  EXPECT_EQ(r->message, "hello");
  EXPECT_FALSE(ck::parse_kmsg_record("6,12,345,-,caller=C1;x\n")->caller_tid);
}

TEST(KmsgRecord, NotTheFormatIsRefusedNotGuessed) {
  for (const char* bad : {"", "hello\n", "6,1,2;x\n", "6,1,2,--;x\n", "x,1,2,-;m\n", "6,,2,-;m\n",
                          "6,1,2x,-;m\n", "99999999999,1,2,-;m\n"}) {
    EXPECT_FALSE(ck::parse_kmsg_record(bad)) << bad;
  }
}

TEST(KmsgRecord, BoundedTextNeverEndsInsideAnEscape) {
  EXPECT_EQ(ck::bounded_kmsg_text("abcdef", 4), "abcd");
  EXPECT_EQ(ck::bounded_kmsg_text("ab\\x41cd", 4), "ab");
  EXPECT_EQ(ck::bounded_kmsg_text("ab\\x41cd", 5), "ab");
  EXPECT_EQ(ck::bounded_kmsg_text("ab\\x41cd", 6), "ab\\x41");
  EXPECT_EQ(ck::bounded_kmsg_text("abc\\", 3), "abc");
}
