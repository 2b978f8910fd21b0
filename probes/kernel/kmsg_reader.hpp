// /dev/kmsg opened for the event loop: non-blocking, each read(2) one whole record. The device
// keeps a read position per open file (a sequence number): poll says readable while records lie
// past it, and a read whose record the ring has already overwritten fails once with EPIPE and
// moves the position to the oldest record still held. Starting at the end is lseek(SEEK_END);
// at the start of the ring (replay), a fresh open.
#pragma once

#include <cellos/telemetry/unique_fd.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace cellos::telemetry::kernel {

class KmsgReader {
 public:
  // The largest record the device hands out (CONSOLE_EXT_LOG_MAX): a smaller buffer gets EINVAL.
  static constexpr size_t kRecordMax = 8192;

  // Throws std::system_error naming the path when it cannot be opened (no CAP_SYSLOG under
  // kernel.dmesg_restrict, no such device).
  KmsgReader(const std::string& path, bool replay);
  int fd() const { return fd_.get(); }

  struct Drained {
    size_t records = 0;
    bool emptied = false;  // EAGAIN: nothing more to read now
  };
  // Reads up to max_records records, handing each to on_record and each EPIPE to on_overwritten.
  Drained drain(const std::function<void(std::string_view)>& on_record,
                const std::function<void()>& on_overwritten, size_t max_records);

 private:
  UniqueFd fd_;
  std::string buf_;
};

}  // namespace cellos::telemetry::kernel
