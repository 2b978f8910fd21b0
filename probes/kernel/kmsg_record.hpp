// One /dev/kmsg record as a read(2) of the device returns it (Documentation/ABI/testing/dev-kmsg):
//
//   PREFIX;MESSAGE\n
//    KEY=value\n            (continuation lines: zero or more, each starting with one space)
//
// PREFIX is "PRI,SEQ,TS_USEC,FLAGS" and possibly more comma-separated fields after it (the
// kernel says to ignore those; with CONFIG_PRINTK_CALLER one is "caller=T123" or "caller=C1").
// PRI is syslog's facility * 8 + level. The kernel escapes every byte of MESSAGE and of the
// continuation values below 0x20 (newline included), 0x7f and above, and the backslash as \xNN,
// so a record is printable ASCII on one line whatever was logged. The parser does not trust
// that: it takes any bytes, bounds what it keeps and never reads past the read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cellos::telemetry::kernel {

inline constexpr uint32_t kKernelFacility = 0;  // LOG_KERN: what only the kernel itself writes

struct KmsgRecord {
  uint32_t level = 0;     // 0 emerg ... 7 debug
  uint32_t facility = 0;  // 0 kernel; 1 user (what a write to /dev/kmsg gets), ...
  uint64_t seq = 0;
  uint64_t ts_usec = 0;
  char flags = '-';                    // '-', or 'c' (a continuation fragment, older kernels)
  std::optional<uint32_t> caller_tid;  // caller=T123 where CONFIG_PRINTK_CALLER is set
  std::string_view message;            // as the device wrote it: escaped, points into the read
  // SUBSYSTEM=..., DEVICE=... (at most kMaxDictEntries; the rest ignored)
  std::vector<std::pair<std::string_view, std::string_view>> dict;
};

inline constexpr size_t kMaxDictEntries = 8;

// Parses one record; nullopt when the prefix is not the format above (a read of something that
// is not /dev/kmsg, or a future format), so the caller can count it instead of guessing.
std::optional<KmsgRecord> parse_kmsg_record(std::string_view read);

// The message with \xNN escapes turned back into bytes (a comm the kernel printed, say). "\x00"
// stays as the four characters: the result travels as a C string. Other backslashes are kept.
std::string unescape_kmsg(std::string_view escaped);

// At most max_bytes of escaped text, never ending inside a \xNN escape (a cut one would read as
// a different byte).
std::string_view bounded_kmsg_text(std::string_view escaped, size_t max_bytes);

}  // namespace cellos::telemetry::kernel
