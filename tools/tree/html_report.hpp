// The timeline page: one self-contained HTML file (inline CSS, script and SVG; nothing fetched)
// with one bar per process on a time axis, nested under its parent, coloured by how it ended,
// the argv, exit status, CPU and memory on hover.
//
// The data travels as JSON in a <script type="application/json"> element. Guest text may hold
// "</script>" or "<!--"; every '<', '>' and '&' in it is written as \u003c, \u003e, \u0026 (and
// U+2028/U+2029 escaped), so nothing in the data can end the element or be parsed as markup.
// The page's script puts text into the SVG with textContent, never as HTML.
#pragma once

#include <string>
#include <vector>

#include "process_ledger.hpp"

namespace cellos::telemetry::tree {

// title: shown in the page's heading (the VM's label and the input's name).
std::string html_page(const Ledger& ledger, const std::vector<bool>& shown,
                      const std::string& title);

// JSON text made safe to embed in a <script> element (the escapes above).
std::string json_for_script(const std::string& json);

}  // namespace cellos::telemetry::tree
