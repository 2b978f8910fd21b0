#include "kmsg_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace cellos::telemetry::kernel {

KmsgReader::KmsgReader(const std::string& path, bool replay)
    : fd_(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)),
      buf_(kRecordMax, '\0') {
  if (!fd_) throw std::system_error(errno, std::system_category(), "opening " + path);
  if (!replay && ::lseek(fd_.get(), 0, SEEK_END) < 0) {
    throw std::system_error(errno, std::system_category(), "seeking to the end of " + path);
  }
}

KmsgReader::Drained KmsgReader::drain(const std::function<void(std::string_view)>& on_record,
                                      const std::function<void()>& on_overwritten,
                                      size_t max_records) {
  Drained d;
  // EPIPE counts against the bound too: the loop ends whatever the device answers.
  for (size_t calls = 0; calls < max_records; ++calls) {
    const ssize_t n = ::read(fd_.get(), buf_.data(), buf_.size());
    if (n > 0) {
      ++d.records;
      on_record(std::string_view(buf_.data(), static_cast<size_t>(n)));
    } else if (n < 0 && errno == EPIPE) {
      on_overwritten();
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n == 0 || errno == EAGAIN) {
      d.emptied = true;
      break;
    } else {
      throw std::system_error(errno, std::system_category(), "reading kernel records");
    }
  }
  return d;
}

}  // namespace cellos::telemetry::kernel
