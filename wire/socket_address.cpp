#include "socket_address.hpp"

#include <sys/un.h>

#include <cstring>
#include <stdexcept>

namespace cellos::telemetry::wire {
namespace {

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw std::invalid_argument("address \"" + std::string(text) + "\": " + why);
}

// Plain decimal, no sign or spaces, within 32 bits: an address is no place for guesswork.
uint32_t parse_u32(std::string_view full, std::string_view digits, const char* what) {
  if (digits.empty()) fail(full, std::string("missing ") + what);
  uint64_t v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') fail(full, std::string(what) + " must be a decimal number");
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > UINT32_MAX) fail(full, std::string(what) + " is out of range");
  }
  return static_cast<uint32_t>(v);
}

uint32_t parse_port(std::string_view full, std::string_view digits) {
  const uint32_t port = parse_u32(full, digits, "port");
  if (port == VMADDR_PORT_ANY) fail(full, "port must not be VMADDR_PORT_ANY");
  return port;
}

SocketAddress vsock(std::string_view full, uint32_t cid, uint32_t port) {
  SocketAddress a;
  const sockaddr_vm vm = make_vsock_address(cid, port);
  std::memcpy(&a.storage, &vm, sizeof vm);
  a.length = sizeof vm;
  a.text = std::string(full);
  return a;
}

SocketAddress unix_path(std::string_view full, std::string_view path) {
  if (path.empty()) fail(full, "missing path after unix:");
  if (path.find('\0') != std::string_view::npos) fail(full, "path contains a NUL byte");
  sockaddr_un un{};
  if (path.size() >= sizeof un.sun_path) {
    fail(full, "path is longer than " + std::to_string(sizeof un.sun_path - 1) + " bytes");
  }
  un.sun_family = AF_UNIX;
  std::memcpy(un.sun_path, path.data(), path.size());
  SocketAddress a;
  std::memcpy(&a.storage, &un, sizeof un);
  a.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  a.text = std::string(full);
  return a;
}

}  // namespace

sockaddr_vm make_vsock_address(uint32_t cid, uint32_t port) {
  sockaddr_vm vm;
  std::memset(&vm, 0, sizeof vm);  // svm_reserved1 and svm_zero must be zero
  vm.svm_family = AF_VSOCK;
  vm.svm_cid = cid;
  vm.svm_port = port;
  return vm;
}

SocketAddress parse_connect_address(std::string_view text) {
  if (text.starts_with("unix:")) return unix_path(text, text.substr(5));
  if (text.starts_with("vsock://")) {
    const std::string_view rest = text.substr(8);
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) fail(text, "expected vsock://CID:PORT");
    const uint32_t cid = parse_u32(text, rest.substr(0, colon), "CID");
    if (cid == VMADDR_CID_ANY) fail(text, "CID must name a peer, not VMADDR_CID_ANY");
    return vsock(text, cid, parse_port(text, rest.substr(colon + 1)));
  }
  fail(text, "expected vsock://CID:PORT or unix:PATH");
}

SocketAddress parse_listen_address(std::string_view text) {
  if (text.starts_with("unix:")) return unix_path(text, text.substr(5));
  if (text.starts_with("vsock:") && !text.starts_with("vsock://")) {
    return vsock(text, VMADDR_CID_ANY, parse_port(text, text.substr(6)));
  }
  fail(text, "expected unix:PATH or vsock:PORT");
}

}  // namespace cellos::telemetry::wire
