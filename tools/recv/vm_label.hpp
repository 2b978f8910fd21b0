// Which VM a connection speaks for. An operator runs one receiver for many microVMs, so every
// line says `vm`: a label given with the address (LABEL=ADDRESS) or derived from the path
// Firecracker forwards the guest's port to (`vm42` for /run/fc/vm42.vsock_9001). A label is also
// a file name in --out-dir, hence the narrow alphabet.
#pragma once

#include <string>
#include <string_view>

#include "socket_address.hpp"

namespace cellos::telemetry::recv {

inline constexpr size_t kMaxLabelBytes = 64;

// 1 to 64 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
bool valid_label(std::string_view label);

// The file name without its "_PORT" suffix (Firecracker's <uds_path>_PORT) and then without a
// ".vsock" or ".sock" extension; bytes outside the label alphabet become '_'; "vm" when
// nothing is left. /run/fc/vm42.vsock_9001 -> vm42.
std::string label_from_socket_path(std::string_view path);

// True when name ends in "_" and decimal digits: a port path, not a VM's own socket.
bool has_port_suffix(std::string_view name);

struct ListenSpec {
  wire::SocketAddress address;
  // Empty for a vsock port without a label: each connection is then labelled by its peer's
  // CID ("cid3"), the VM's identity on AF_VSOCK.
  std::string label;
};

// "[LABEL=]unix:PATH" or "[LABEL=]vsock:PORT": a '=' before the first ':' ends a label, so a
// path may hold '=' freely. Throws std::invalid_argument naming the argument and the fault.
ListenSpec parse_listen_spec(std::string_view text);

}  // namespace cellos::telemetry::recv
