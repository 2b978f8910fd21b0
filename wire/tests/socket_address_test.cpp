// The AF_VSOCK layer is tested without a host: parsing and sockaddr_vm construction, and a
// local bind/listen on VMADDR_CID_ANY. Nothing here connects anywhere over vsock.
#include "socket_address.hpp"

#include <gtest/gtest.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace wire = cellos::telemetry::wire;

namespace {

sockaddr_vm vm_of(const wire::SocketAddress& a) {
  sockaddr_vm vm;
  std::memcpy(&vm, &a.storage, sizeof vm);
  return vm;
}

std::string error_of(std::string_view text, bool listen = false) {
  try {
    listen ? wire::parse_listen_address(text) : wire::parse_connect_address(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(SocketAddress, ProductionDefaultIsHostCidPort9001) {
  const auto a = wire::parse_connect_address("vsock://2:9001");
  EXPECT_EQ(a.family(), AF_VSOCK);
  EXPECT_EQ(a.length, sizeof(sockaddr_vm));
  const sockaddr_vm vm = vm_of(a);
  EXPECT_EQ(vm.svm_cid, VMADDR_CID_HOST);
  EXPECT_EQ(vm.svm_port, 9001u);
  EXPECT_EQ(a.text, "vsock://2:9001");
}

TEST(SocketAddress, VsockAddressHasZeroedReservedBytes) {
  const sockaddr_vm vm = wire::make_vsock_address(4294967294u, 4294967294u);
  EXPECT_EQ(vm.svm_family, AF_VSOCK);
  EXPECT_EQ(vm.svm_reserved1, 0);
  for (const unsigned char z : vm.svm_zero) EXPECT_EQ(z, 0);
  EXPECT_EQ(vm.svm_cid, 4294967294u);
  EXPECT_EQ(vm.svm_port, 4294967294u);
}

TEST(SocketAddress, UnixPath) {
  const auto a = wire::parse_connect_address("unix:/run/fc/vsock.sock_9001");
  EXPECT_EQ(a.family(), AF_UNIX);
  sockaddr_un un;
  std::memcpy(&un, &a.storage, sizeof un);
  EXPECT_STREQ(un.sun_path, "/run/fc/vsock.sock_9001");
  EXPECT_EQ(a.length, offsetof(sockaddr_un, sun_path) + std::strlen(un.sun_path) + 1);
}

TEST(SocketAddress, ListenForms) {
  const auto v = wire::parse_listen_address("vsock:9001");
  EXPECT_EQ(v.family(), AF_VSOCK);
  EXPECT_EQ(vm_of(v).svm_cid, VMADDR_CID_ANY);
  EXPECT_EQ(vm_of(v).svm_port, 9001u);
  EXPECT_EQ(wire::parse_listen_address("unix:/tmp/x_9001").family(), AF_UNIX);
}

TEST(SocketAddress, MalformedAddressesSayWhatIsWrong) {
  EXPECT_NE(error_of("vsock://2").find("expected vsock://CID:PORT"), std::string::npos);
  EXPECT_NE(error_of("vsock://:9001").find("missing CID"), std::string::npos);
  EXPECT_NE(error_of("vsock://2:").find("missing port"), std::string::npos);
  EXPECT_NE(error_of("vsock://x:9001").find("CID must be a decimal"), std::string::npos);
  EXPECT_NE(error_of("vsock://-2:9001").find("CID must be a decimal"), std::string::npos);
  EXPECT_NE(error_of("vsock://2:+9001").find("port must be a decimal"), std::string::npos);
  EXPECT_NE(error_of("vsock://4294967296:1").find("CID is out of range"), std::string::npos);
  EXPECT_NE(error_of("vsock://2:99999999999").find("port is out of range"), std::string::npos);
  EXPECT_NE(error_of("vsock://4294967295:1").find("VMADDR_CID_ANY"), std::string::npos);
  EXPECT_NE(error_of("vsock://2:4294967295").find("VMADDR_PORT_ANY"), std::string::npos);
  EXPECT_NE(error_of("unix:").find("missing path"), std::string::npos);
  EXPECT_NE(error_of("unix:/" + std::string(200, 'a')).find("longer than 107"), std::string::npos);
  EXPECT_NE(error_of("tcp://1.2.3.4:5").find("expected vsock://CID:PORT or unix:PATH"),
            std::string::npos);
  EXPECT_NE(error_of("vsock://2:9001", true).find("expected unix:PATH or vsock:PORT"),
            std::string::npos);
  EXPECT_NE(error_of("vsock:", true).find("missing port"), std::string::npos);
}

// Binding a listener needs no host: it proves the sockaddr_vm is one the kernel accepts.
TEST(SocketAddress, VsockListenAddressBindsLocally) {
  const int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) GTEST_SKIP() << "no AF_VSOCK here: " << std::strerror(errno);
  // A high port picked from the pid, to stay clear of real services.
  const auto a = wire::parse_listen_address("vsock:" + std::to_string(40000 + getpid() % 20000));
  const int rc = bind(fd, a.get(), a.length);
  if (rc != 0 && (errno == EADDRNOTAVAIL || errno == ENODEV)) {
    close(fd);
    GTEST_SKIP() << "vsock has no transport to bind on: " << std::strerror(errno);
  }
  EXPECT_EQ(rc, 0) << std::strerror(errno);
  EXPECT_EQ(listen(fd, 4), 0) << std::strerror(errno);
  close(fd);
}

}  // namespace
