/* The clock every event is stamped with, for a C probe: CLOCK_MONOTONIC in nanoseconds, the
 * guest_monotonic_ns of the wire (C++ plugins have cellos/telemetry/clock.hpp). */
#ifndef HELLO_C_TICK_H
#define HELLO_C_TICK_H

#include <stdint.h>

uint64_t hello_c_monotonic_ns(void);

#endif
