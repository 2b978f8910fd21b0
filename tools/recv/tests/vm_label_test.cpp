// Labels: derived from Firecracker socket paths, given as LABEL=ADDRESS, refused when they
// could not be a file name.
#include "vm_label.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace rv = cellos::telemetry::recv;

namespace {

TEST(VmLabel, DerivedFromTheSocketPath) {
  EXPECT_EQ(rv::label_from_socket_path("/run/fc/vm42.vsock_9001"), "vm42");
  EXPECT_EQ(rv::label_from_socket_path("/run/fc/vm42.vsock"), "vm42");
  EXPECT_EQ(rv::label_from_socket_path("/srv/a.b.sock_52"), "a.b");
  EXPECT_EQ(rv::label_from_socket_path("v_9001"), "v");
  EXPECT_EQ(rv::label_from_socket_path("/x/my vm\xC3\xA9_9001"), "my_vm__");
  EXPECT_EQ(rv::label_from_socket_path("/x/.hidden_9001"), "hidden");
  EXPECT_EQ(rv::label_from_socket_path("/x/_9001"), "vm");
  EXPECT_TRUE(rv::has_port_suffix("vm42.vsock_9001"));
  EXPECT_FALSE(rv::has_port_suffix("vm42.vsock"));
  EXPECT_FALSE(rv::has_port_suffix("vm_42a"));
  EXPECT_FALSE(rv::has_port_suffix("vm_"));
}

TEST(VmLabel, ListenSpecsWithAndWithoutALabel) {
  auto spec = rv::parse_listen_spec("unix:/run/fc/vm7.vsock_9001");
  EXPECT_EQ(spec.label, "vm7");
  EXPECT_EQ(spec.address.family(), AF_UNIX);
  spec = rv::parse_listen_spec("web-1=unix:/tmp/a=b_9001");  // '=' in the path is the path's
  EXPECT_EQ(spec.label, "web-1");
  spec = rv::parse_listen_spec("unix:/tmp/a=b_9001");
  EXPECT_EQ(spec.label, "a_b");
  spec = rv::parse_listen_spec("vsock:9001");
  EXPECT_EQ(spec.label, "");  // by peer CID
  spec = rv::parse_listen_spec("db=vsock:9001");
  EXPECT_EQ(spec.label, "db");
  for (const char* bad : {"=unix:/x", "a/b=unix:/x", ".x=unix:/x", "-x=unix:/x", "x y=unix:/x"}) {
    EXPECT_THROW(rv::parse_listen_spec(bad), std::invalid_argument) << bad;
  }
  EXPECT_THROW(rv::parse_listen_spec(std::string(65, 'a') + "=unix:/x"), std::invalid_argument);
  EXPECT_NO_THROW(rv::parse_listen_spec(std::string(64, 'a') + "=unix:/x"));
}

}  // namespace
