/* Deliberately in its own file and not static: a helper shared between a plugin's sources must
 * still not be exported, which the SDK's CMake helper sees to (C_VISIBILITY_PRESET hidden). */
#define _POSIX_C_SOURCE 200809L
#include "tick.h"

#include <time.h>

uint64_t hello_c_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
