#include "err_writer.hpp"

#include <stdexcept>

namespace cellos::telemetry::recv {

ErrWriter::ErrWriter(int fd) : out_(fd) {}

bool ErrWriter::flush() {
  if (gone_) return true;
  try {
    while (!pending_.empty()) {
      const size_t n = out_.write_some(pending_);
      pending_.erase(0, n);
      if (n == 0) return false;
      if (pending_.empty() && dropped_ > 0) {
        pending_ = "cellos-telemetry-recv: " + std::to_string(dropped_) +
                   " diagnostic line(s) dropped: stderr was not read\n";
        dropped_ = 0;
      }
    }
  } catch (const std::runtime_error&) {
    gone_ = true;  // nobody to tell
    pending_.clear();
  }
  return pending_.empty();
}

void ErrWriter::line(std::string_view text) {
  if (gone_) return;
  if (pending_.size() + text.size() + 1 > kMaxPending) {
    ++dropped_;
    ++dropped_total_;
    return;
  }
  pending_.append(text);
  pending_ += '\n';
  flush();
}

}  // namespace cellos::telemetry::recv
