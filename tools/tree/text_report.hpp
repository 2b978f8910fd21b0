// The tree as text: a header with the counts, one line per shown process under its parent,
// then one line per loss the kernel reported.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "process_ledger.hpp"

namespace cellos::telemetry::tree {

struct TextStyle {
  bool colour = false;  // ANSI SGR colours (a terminal, without NO_COLOR)
  std::string vm;       // the VM's label for the header, when the input had one
};

void write_text(const Ledger& ledger, const std::vector<bool>& shown, const TextStyle& style,
                std::ostream& out);

}  // namespace cellos::telemetry::tree
