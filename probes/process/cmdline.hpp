// Splitting /proc/PID/cmdline into the argv list the wire carries.
//
// The kernel shows the arguments as the process's memory holds them: each followed by a NUL.
// A process may rewrite that memory (setproctitle), leaving one string without a final NUL, or
// any bytes at all: the text is untrusted. Each argument becomes one list item, repaired to
// valid UTF-8 (U+FFFD for each ill-formed sequence), and the list is bounded so that a frame
// stays within 4096 bytes: at most max_bytes in all, counted as cmdline counts them (each item's
// bytes after repair, plus one for its NUL), at most CT_MAX_TEXT_BYTES per item and
// CT_MAX_LIST_ITEMS items. What does not fit is cut (an item at a character boundary) and
// argv_truncated is set.
#pragma once

#include <cstddef>
#include <string_view>

#include "exec_context.hpp"

namespace cellos::telemetry::process {

// raw: what the read of cmdline returned (at most max_bytes + 1 bytes: one more than fits says
// that more exists). Fills out.argv, out.argv_truncated (and the storage behind argv).
void split_cmdline(std::string_view raw, size_t max_bytes, ExecContext& out);

// s repaired to valid UTF-8 and cut to at most max bytes at a character boundary, into out.
// True when it had to be cut.
bool bounded_text(std::string_view s, size_t max, std::string& out);

}  // namespace cellos::telemetry::process
