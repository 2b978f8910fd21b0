// Rate limit for a warning that may repeat (a plugin's host.warn about a fault it keeps
// meeting): said on its 1st, 2nd, 4th, 8th... occurrence, so a persistent fault is still heard
// of, with its running count, at a cost in log lines that grows only with log2 of it.
#pragma once

#include <cstdint>

namespace cellos::telemetry {

constexpr bool worth_warning(uint64_t count) {
  return (count & (count - 1)) == 0;
}

}  // namespace cellos::telemetry
