#include "wire_test_support.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness.hpp"

namespace cellos::telemetry::testing {

std::string recv_path() {
  return CT_RECV_PATH;
}
std::string python_with_cbor2() {
  return CT_PYTHON_WITH_CBOR2;
}

int connect_unix(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool peer_closed(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  const ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

std::vector<WireLine> parse_wire_lines(const std::string& json_lines) {
  std::vector<WireLine> out;
  for (auto& obj : parse_json_lines(json_lines)) {
    // A line cut by a killed receiver never parses; one missing a wire key is no frame.
    if (!obj.contains("content_version") || !obj.contains("probe_source") ||
        !obj.contains("guest_pid") || !obj.contains("guest_comm") ||
        !obj.contains("guest_monotonic_ns")) {
      continue;
    }
    WireLine w;
    w.content_version = std::stoull(obj["content_version"]);
    w.probe_source = obj["probe_source"];
    w.guest_pid = static_cast<uint32_t>(std::stoul(obj["guest_pid"]));
    w.guest_comm = obj["guest_comm"];
    w.guest_monotonic_ns = std::stoull(obj["guest_monotonic_ns"]);
    for (const auto& [k, v] : obj) {
      if (k != "content_version" && k != "probe_source" && k != "guest_pid" && k != "guest_comm" &&
          k != "guest_monotonic_ns") {
        w.extras[k] = v;
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

size_t count_occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace cellos::telemetry::testing
