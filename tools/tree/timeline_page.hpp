// The page around the data: inline CSS and the script that draws the SVG timeline.
#pragma once

#include <string>

namespace cellos::telemetry::tree {

// title_html: already HTML-escaped. data_json: already made safe by json_for_script.
std::string timeline_page(const std::string& title_html, const std::string& data_json);

}  // namespace cellos::telemetry::tree
