// The process probe's parsers of text a workload controls: /proc/PID/cmdline (any bytes a
// process writes over its argv), /proc/PID/stat (a comm set to any bytes) and /proc/PID/status.
// None may crash, and the argv split must keep its promises whatever the bytes: every item
// valid UTF-8 and within the ABI's limits, the whole within the bound, and nothing lost
// without argv_truncated.
//
// Input: u16 bound (little-endian), then the file's bytes.
#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/text.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cmdline.hpp"
#include "proc_stat.hpp"
#include "status_ids.hpp"

namespace cp = cellos::telemetry::process;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t bound = static_cast<size_t>(data[0] | data[1] << 8) % 4097;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  cp::ExecContext c;
  cp::split_cmdline(text, bound, c);
  size_t used = 0;
  for (std::string_view item : c.argv) {
    if (!cellos::telemetry::is_valid_utf8(item)) std::abort();
    if (item.size() > CT_MAX_TEXT_BYTES) std::abort();
    used += item.size() + 1;
  }
  if (c.argv.size() > CT_MAX_LIST_ITEMS || used > bound) std::abort();
  // Untruncated valid text comes back whole: the items joined by NULs are the input.
  if (!c.argv_truncated && cellos::telemetry::is_valid_utf8(text)) {
    std::string joined;
    for (std::string_view item : c.argv) {
      joined.append(item);
      joined.push_back('\0');
    }
    // A command line without its final NUL (rewritten by the process) gains one.
    if (joined != text && joined != std::string(text) + '\0') std::abort();
  }

  (void)cp::parse_status_ids(text);
  (void)cp::parse_status_name(text);
  if (const auto f = cp::parse_stat(text)) {
    if (f->comm.data() < text.data() || f->comm.data() + f->comm.size() > text.data() + text.size())
      std::abort();
  }
  return 0;
}
