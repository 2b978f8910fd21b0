// --watch (issue 15, item 5): a directory of Firecracker vsock sockets, created and removed
// while the receiver runs, each served on its <socket>_PORT path and labelled after it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "frame_encoder.hpp"
#include "harness.hpp"
#include "wire_test_support.hpp"

namespace t = cellos::telemetry::testing;
namespace wire = cellos::telemetry::wire;
using namespace std::chrono_literals;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// A VM as Firecracker makes it: a listening socket at its uds_path.
class FakeVm {
 public:
  explicit FakeVm(std::string path) : path_(std::move(path)), fd_(t::listen_unix(path_, 1)) {}
  ~FakeVm() { stop(); }
  void stop() {
    if (fd_ < 0) return;
    close(fd_);
    unlink(path_.c_str());
    fd_ = -1;
  }
  bool ok() const { return fd_ >= 0; }

 private:
  std::string path_;
  int fd_;
};

// Sends one frame to path and returns whether it could connect.
bool send_frame(const std::string& path, uint32_t pid) {
  const int fd = t::connect_unix(path);
  if (fd < 0) return false;
  const bool sent = t::send_all(fd, wire::encode_frame(ct_event{sizeof(ct_event), "process.spawned",
                                                                pid, "sh", 1, nullptr, 0}));
  close(fd);
  return sent;
}

bool printed(const t::ChildProcess& recv, const std::string& vm, uint32_t pid) {
  for (const auto& l : t::parse_json_lines(recv.out())) {
    if (l.count("vm") && l.at("vm") == vm && l.at("guest_pid") == std::to_string(pid)) {
      return true;
    }
  }
  return false;
}

TEST(RecvWatch, ServesVmSocketsAsTheyComeAndRemovesTheirPathWhenTheyGo) {
  t::TempDir dir;
  const std::string vms = dir.file("vms");
  ASSERT_EQ(mkdir(vms.c_str(), 0700), 0);
  FakeVm early(vms + "/early.vsock");  // there before the receiver
  ASSERT_TRUE(early.ok());
  dir.write("vms/notes.txt", "not a socket\n");
  FakeVm port_path(vms + "/stale_52");  // a port path, not a VM
  ASSERT_TRUE(port_path.ok());

  t::ChildProcess recv({t::recv_path(), "--watch", vms}, dir);
  ASSERT_TRUE(t::eventually([&] { return send_frame(vms + "/early.vsock_9001", 1); }))
      << recv.err();
  EXPECT_TRUE(t::eventually([&] { return printed(recv, "early", 1); })) << recv.out();

  {
    FakeVm late(vms + "/vm42.vsock");  // a VM started while the receiver runs
    ASSERT_TRUE(late.ok());
    ASSERT_TRUE(t::eventually([&] { return send_frame(vms + "/vm42.vsock_9001", 2); }))
        << recv.err();
    EXPECT_TRUE(t::eventually([&] { return printed(recv, "vm42", 2); })) << recv.out();
  }  // the VM is gone: its socket file removed
  EXPECT_TRUE(t::eventually([&] { return !exists(vms + "/vm42.vsock_9001"); })) << recv.err();
  EXPECT_NE(recv.err().find("stopped listening on unix:" + vms +
                            "/vm42.vsock_9001 (vm vm42): "
                            "VM socket " +
                            vms + "/vm42.vsock gone"),
            std::string::npos)
      << recv.err();

  // A VM that comes back under the same name is served again.
  FakeVm again(vms + "/vm42.vsock");
  ASSERT_TRUE(t::eventually([&] { return send_frame(vms + "/vm42.vsock_9001", 3); })) << recv.err();
  EXPECT_TRUE(t::eventually([&] { return printed(recv, "vm42", 3); })) << recv.out();
  EXPECT_TRUE(exists(vms + "/early.vsock_9001"));
  EXPECT_FALSE(exists(vms + "/notes.txt_9001"));
  EXPECT_FALSE(exists(vms + "/stale_52_9001"));

  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0) << recv.err();
  EXPECT_FALSE(exists(vms + "/early.vsock_9001"));  // removed at exit
  EXPECT_FALSE(exists(vms + "/vm42.vsock_9001"));
}

TEST(RecvWatch, AnotherPortAndBadArguments) {
  t::TempDir dir;
  const std::string vms = dir.file("vms");
  ASSERT_EQ(mkdir(vms.c_str(), 0700), 0);
  FakeVm vm(vms + "/a.sock");
  t::ChildProcess recv({t::recv_path(), "--watch", vms, "--port", "52"}, dir);
  ASSERT_TRUE(t::eventually([&] { return send_frame(vms + "/a.sock_52", 9); })) << recv.err();
  EXPECT_TRUE(t::eventually([&] { return printed(recv, "a", 9); })) << recv.out();
  recv.signal(SIGTERM);
  EXPECT_EQ(recv.wait(10s), 0);

  t::ChildProcess missing({t::recv_path(), "--watch", dir.file("nowhere")}, dir);
  EXPECT_EQ(missing.wait(10s), 71);
  EXPECT_NE(missing.err().find("--watch " + dir.file("nowhere") + ": No such file or directory"),
            std::string::npos)
      << missing.err();
  t::ChildProcess port_alone({t::recv_path(), "--listen", "unix:" + vms + "/x_1", "--port", "5"},
                             dir);
  EXPECT_EQ(port_alone.wait(10s), 64);
  EXPECT_NE(port_alone.err().find("--port is for --watch"), std::string::npos);
}

}  // namespace
