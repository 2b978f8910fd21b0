// One reading of /proc/pressure/cpu|memory|io (Documentation/accounting/psi.rst):
//
//   some avg10=0.00 avg60=0.00 avg300=0.00 total=0
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//
// "some": the share of time at least one task stalled on the resource; "full": all non-idle
// tasks stalled at once. avg10/60/300 are percentages over 10, 60 and 300 s, kept here in
// hundredths of a percent (the wire has no floats); total is the stall time in microseconds
// since boot. Kernels before 5.13 print no "full" line for cpu: it reads as zeros.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cellos::telemetry::pressure {

struct PsiLine {
  uint64_t avg10 = 0, avg60 = 0, avg300 = 0;  // hundredths of a percent
  uint64_t total_us = 0;
};

struct PsiRecord {
  PsiLine some;
  PsiLine full;  // zeros where the kernel prints no full line
};

// nullopt when there is no well-formed "some" line, or a "full" line is malformed.
std::optional<PsiRecord> parse_psi(std::string_view text);

}  // namespace cellos::telemetry::pressure
