#include "host_listener.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "frame_decoder.hpp"
#include "workload.hpp"

namespace capture_bench {

namespace wire = cellos::telemetry::wire;

HostListener::HostListener(const std::string& path) : path_(path) {
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (listen_fd_ < 0 || path.size() >= sizeof addr.sun_path)
    throw std::runtime_error("host listener: socket");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 4) != 0) {
    throw std::runtime_error("host listener: bind/listen " + path + ": " + strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

HostListener::~HostListener() {
  stop_ = true;
  thread_.join();
  close(listen_fd_);
  unlink(path_.c_str());
}

void HostListener::run() {
  // One connection at a time, as the sink makes them; a new one after the agent reconnects.
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::vector<uint8_t> stream;
    uint8_t buf[65536];
    while (!stop_) {
      pollfd q{fd, POLLIN, 0};
      if (poll(&q, 1, 50) <= 0) continue;
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) break;
      stream.insert(stream.end(), buf, buf + n);
      size_t at = 0;
      for (;;) {
        const auto span = wire::next_frame(std::span<const uint8_t>(stream).subspan(at));
        if (span.kind != wire::FrameSpan::kWhole) break;
        take(std::vector<uint8_t>(stream.begin() + static_cast<long>(at) + 4,
                                  stream.begin() + static_cast<long>(at + span.size)));
        at += span.size;
      }
      stream.erase(stream.begin(), stream.begin() + static_cast<long>(at));
    }
    close(fd);
  }
}

void HostListener::take(const std::vector<uint8_t>& body) {
  std::string error;
  const auto f = wire::decode_body(body, &error);
  if (!f) {
    ++rejected_;
    return;
  }
  CapturedEvent e;
  e.source = f->probe_source;
  e.pid = f->guest_pid;
  e.comm = f->guest_comm;
  // When the frame reached the host, not the event's own time: the agent stamps process
  // events with the kernel's timestamp, and the latency that matters is delivery.
  e.ns = monotonic_ns();
  for (const auto& [key, value] : f->extras) {
    if (key == "argv" && value.type == wire::ExtraValue::kTextList) e.has_argv = true;
    if (key == "raced" && value.type == wire::ExtraValue::kBool) e.raced = value.number != 0;
  }
  std::lock_guard lock(mu_);
  events_.push_back(std::move(e));
}

std::vector<CapturedEvent> HostListener::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

bool HostListener::saw(const std::string& source, uint32_t pid) const {
  std::lock_guard lock(mu_);
  for (auto it = events_.rbegin(); it != events_.rend(); ++it) {
    if (it->pid == pid && it->source == source) return true;
  }
  return false;
}

}  // namespace capture_bench
