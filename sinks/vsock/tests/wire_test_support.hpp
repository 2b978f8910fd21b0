// Helpers for the end-to-end tests of the vsock sink and the receiver: the receiver binary,
// raw Unix-socket clients, and the receiver's JSON lines read back as frames.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cellos::telemetry::testing {

std::string recv_path();  // the cellos-telemetry-recv binary of this build
// A Python 3 that can `import cbor2`, or "" when none was found at configure time.
std::string python_with_cbor2();

// A connected Unix stream socket to path, or -1.
int connect_unix(const std::string& path);
bool send_all(int fd, const std::string& bytes);
// Waits until the peer has closed the connection (EOF or reset) or the timeout passes.
bool peer_closed(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(10));

// One line the receiver printed.
struct WireLine {
  uint64_t content_version = 0;
  std::string probe_source;
  uint32_t guest_pid = 0;
  std::string guest_comm;
  uint64_t guest_monotonic_ns = 0;
  std::map<std::string, std::string> extras;
};
std::vector<WireLine> parse_wire_lines(const std::string& json_lines);

size_t count_occurrences(const std::string& text, const std::string& needle);

}  // namespace cellos::telemetry::testing
