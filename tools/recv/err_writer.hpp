// Diagnostics on stderr without ever blocking: stderr is often the same stalled console or
// unread pipe as stdout, and a receiver stuck writing a "connection closed" line would stop
// reading every VM. Written through its own non-blocking description (output.hpp); what does
// not fit waits in a bounded buffer, and whole lines beyond it are dropped, counted, and
// announced once stderr takes lines again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "output.hpp"

namespace cellos::telemetry::recv {

class ErrWriter {
 public:
  static constexpr size_t kMaxPending = 64 * 1024;

  explicit ErrWriter(int fd);
  // One line (the newline is added). Never blocks; a stderr that is gone is ignored.
  void line(std::string_view text);
  // Writes what waits; call when fd() is writable. True when nothing waits any more.
  bool flush();
  bool waiting() const { return !pending_.empty(); }
  int fd() const { return out_.fd(); }
  uint64_t dropped() const { return dropped_total_; }

 private:
  Output out_;
  std::string pending_;
  uint64_t dropped_ = 0;  // since the last announcement
  uint64_t dropped_total_ = 0;
  bool gone_ = false;
};

}  // namespace cellos::telemetry::recv
