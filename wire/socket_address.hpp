// Addresses of the sink and the receiver, as operators write them, turned into sockaddrs.
// Kept apart from any socket call so the AF_VSOCK side can be tested without a host.
#pragma once

#include <linux/vm_sockets.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cellos::telemetry::wire {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  std::string text;  // as the operator wrote it, for messages

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// The sink's form: "vsock://CID:PORT" (production: vsock://2:9001) or "unix:PATH" (a Unix
// socket standing in for the host, such as Firecracker's <uds>_9001). Throws
// std::invalid_argument saying what is wrong.
SocketAddress parse_connect_address(std::string_view text);

// The receiver's form: "vsock:PORT" (any local CID) or "unix:PATH".
SocketAddress parse_listen_address(std::string_view text);

// sockaddr_vm for cid:port with every reserved byte zero, as the kernel requires.
sockaddr_vm make_vsock_address(uint32_t cid, uint32_t port);

}  // namespace cellos::telemetry::wire
