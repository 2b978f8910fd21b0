// The PSI reader against files recorded from Linux 6.18 (data/pressure-*), and the number
// reading under it: exact values, and refusal of anything that is not the kernel's format.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "proc_text.hpp"
#include "psi_record.hpp"

namespace cpr = cellos::telemetry::pressure;
namespace t = cellos::telemetry::testing;

namespace {

std::string data(const std::string& name) {
  return t::read_file(std::string(PRESSURE_TEST_DATA) + "/" + name);
}

TEST(PressureProcText, HundredthsFromTheKernelsFixedPointText) {
  EXPECT_EQ(cpr::parse_hundredths("92.11"), 9211u);
  EXPECT_EQ(cpr::parse_hundredths("0.00"), 0u);
  EXPECT_EQ(cpr::parse_hundredths("100.00"), 10000u);
  EXPECT_EQ(cpr::parse_hundredths("3"), 300u);
  EXPECT_EQ(cpr::parse_hundredths("0.5"), 50u);
  EXPECT_EQ(cpr::parse_hundredths("12345.67"), 1234567u);
  for (const char* bad : {"", ".", "1.", ".5", "1.234", "-1.00", "1,00", "1.0a", " 1.00",
                          "99999999999999999999.00"}) {
    EXPECT_FALSE(cpr::parse_hundredths(bad).has_value()) << bad;
  }
}

TEST(PressureProcText, UnsignedIntegersOnlyDigitsWithoutOverflow) {
  EXPECT_EQ(cpr::parse_uint("0"), 0u);
  EXPECT_EQ(cpr::parse_uint("18446744073709551615"), 18446744073709551615u);
  for (const char* bad : {"", "18446744073709551616", "-1", "+1", "1 ", "0x10"}) {
    EXPECT_FALSE(cpr::parse_uint(bad).has_value()) << bad;
  }
}

TEST(PressurePsiRecord, RecordedCpuFile) {
  const auto r = cpr::parse_psi(data("pressure-cpu"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->some.avg10, 1111u);
  EXPECT_EQ(r->some.avg60, 6508u);
  EXPECT_EQ(r->some.avg300, 4496u);
  EXPECT_EQ(r->some.total_us, 7495050064u);
  EXPECT_EQ(r->full.avg10, 0u);
  EXPECT_EQ(r->full.total_us, 0u);
}

TEST(PressurePsiRecord, RecordedMemoryAndIoFilesWithFullLines) {
  const auto m = cpr::parse_psi(data("pressure-memory"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->some.avg10, 0u);
  EXPECT_EQ(m->some.avg60, 24u);
  EXPECT_EQ(m->some.avg300, 20u);
  EXPECT_EQ(m->some.total_us, 946600u);
  EXPECT_EQ(m->full.avg60, 2u);
  EXPECT_EQ(m->full.avg300, 1u);
  EXPECT_EQ(m->full.total_us, 149275u);

  const auto io = cpr::parse_psi(data("pressure-io"));
  ASSERT_TRUE(io.has_value());
  EXPECT_EQ(io->some.avg10, 2u);
  EXPECT_EQ(io->some.avg60, 44u);
  EXPECT_EQ(io->some.avg300, 73u);
  EXPECT_EQ(io->some.total_us, 79230912u);
  EXPECT_EQ(io->full.avg300, 10u);
  EXPECT_EQ(io->full.total_us, 18178869u);
}

TEST(PressurePsiRecord, CpuWithoutAFullLineBeforeLinux513ReadsFullAsZero) {
  const auto r = cpr::parse_psi("some avg10=1.50 avg60=0.25 avg300=0.05 total=123456\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->some.avg10, 150u);
  EXPECT_EQ(r->some.avg60, 25u);
  EXPECT_EQ(r->some.avg300, 5u);
  EXPECT_EQ(r->some.total_us, 123456u);
  EXPECT_EQ(r->full.avg10, 0u);
  EXPECT_EQ(r->full.total_us, 0u);
}

TEST(PressurePsiRecord, AnythingButTheKernelsFormatIsRefused) {
  for (const char* bad : {
           "",
           "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",                   // no some line
           "some avg10=0.00 avg60=0.00 avg300=0.00\n",                           // no total
           "some avg10=0.001 avg60=0.00 avg300=0.00 total=1\n",                  // three decimals
           "some avg10=x avg60=0.00 avg300=0.00 total=1\n",                      // not a number
           "some avg10=0.00 avg60=0.00 avg300=0.00 total=-1\n",                  // negative
           "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=0.00\n",  // cut full line
       }) {
    EXPECT_FALSE(cpr::parse_psi(bad).has_value()) << bad;
  }
}

}  // namespace
