// Reads JSON lines into Events, one line at a time (a long recording is never held whole).
// Every line must be one JSON object; blank lines are skipped. Keys the tree does not read are
// ignored, and so are events of kinds it does not use (heartbeats, pressure, ...), but a key it
// reads must have the contract's type: a wrong one is an error, not a silent zero.
#pragma once

#include <cstddef>
#include <functional>
#include <istream>
#include <stdexcept>
#include <string>

#include "event.hpp"

namespace cellos::telemetry::tree {

// "FILE:LINE:COL: message" (COL counted in bytes from 1, 1 when the line as a whole is wrong).
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses one line. Throws InputError naming source, line_no and the column.
Event parse_event_line(const std::string& line, const std::string& source, size_t line_no);

// Calls sink for every event in `in`, in order; `source` names it in errors ("-" is shown as
// "<stdin>"). Returns the number of lines read.
size_t read_events(std::istream& in, const std::string& source,
                   const std::function<void(Event&&)>& sink);

}  // namespace cellos::telemetry::tree
