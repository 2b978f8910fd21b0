// Text from the guest, made safe to print on a terminal and unambiguous to read.
//
// argv and comm are whatever a workload chose: escape sequences that retitle the window, clear
// the screen or move the cursor; C1 controls (U+0080-U+009F, which some terminals obey as
// ESC-sequences); bidirectional overrides that make text read backwards. None of it may reach
// the terminal raw. Arguments are shown the way a shell would take them back: as they are when
// only harmless characters, 'quoted' when they hold spaces or shell syntax, and in bash's
// $'...' form with escapes (\e, \a, \xNN, \uXXXX) when they hold anything unprintable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cellos::telemetry::tree {

// One argument, quoted as above. Invalid UTF-8 bytes become \xNN.
std::string quote_argument(std::string_view arg);

// The arguments, each quoted, separated by single spaces.
std::string quote_argv(const std::vector<std::string>& argv);

// A name (comm) or a path: printed without quotes unless it holds something unsafe, which is
// escaped the same way (the $'...' form).
std::string safe_name(std::string_view name);

}  // namespace cellos::telemetry::tree
