// Issue 15: noticing a new VM generation from the kernel's vmgenid uevent.
#include "generation_watch.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "harness.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

std::string uevent(std::initializer_list<std::string> parts) {
  std::string d;
  for (const auto& p : parts) d += p + '\0';
  return d;
}

// As drivers/virt/vmgenid.c sends it: kobject_uevent_env(KOBJ_CHANGE, {"NEW_VMGENID=1"}).
const std::string kVmgenid =
    uevent({"change@/devices/platform/VMGENCTR:00", "ACTION=change",
            "DEVPATH=/devices/platform/VMGENCTR:00", "SUBSYSTEM=platform", "NEW_VMGENID=1",
            "DRIVER=vmgenid", "MODALIAS=acpi:VMGENCTR:", "SEQNUM=2271"});

TEST(GenerationWatch, RecognisesExactlyTheVmgenidChangeUevent) {
  EXPECT_TRUE(ct::is_new_vmgenid_uevent(kVmgenid));
  // The ACPI-bound form of older kernels: another DEVPATH, same variable.
  EXPECT_TRUE(ct::is_new_vmgenid_uevent(
      uevent({"change@/devices/LNXSYSTM:00/VMGENCTR:00", "ACTION=change", "NEW_VMGENID=1"})));
  // What a write to the device's uevent file makes (the kernel prefixes its variables), an
  // ordinary change of the device, another action, a lookalike value, no header.
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(uevent(
      {"change@/devices/platform/VMGENCTR:00", "ACTION=change", "SYNTH_ARG_NEW_VMGENID=1"})));
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(
      uevent({"change@/devices/platform/VMGENCTR:00", "ACTION=change", "SEQNUM=3"})));
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(
      uevent({"add@/devices/platform/VMGENCTR:00", "ACTION=add", "NEW_VMGENID=1"})));
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(
      uevent({"change@/devices/platform/VMGENCTR:00", "NEW_VMGENID=10"})));
  EXPECT_FALSE(ct::is_new_vmgenid_uevent("NEW_VMGENID=1"));
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(""));
  // udev's re-broadcast (group 2) starts with "libudev": never read, never believed.
  EXPECT_FALSE(ct::is_new_vmgenid_uevent(std::string("libudev\0\xfe\xed\xca\xfe", 12)));
}

void send_to(const std::string& path, const std::string& bytes) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  ASSERT_EQ(sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&un), sizeof un),
            static_cast<ssize_t>(bytes.size()));
  close(fd);
}

TEST(GenerationWatch, TestSocketSeamReadsEveryDatagramWaiting) {
  t::TempDir dir;
  auto w = ct::GenerationWatch::unix_socket_for_test(dir.file("uevents"));
  EXPECT_FALSE(w.read_announcements());  // nothing yet, and it does not block
  send_to(dir.file("uevents"), uevent({"change@/devices/x", "ACTION=change", "SEQNUM=1"}));
  EXPECT_FALSE(w.read_announcements());
  send_to(dir.file("uevents"), uevent({"change@/devices/x", "ACTION=change", "SEQNUM=2"}));
  send_to(dir.file("uevents"), kVmgenid);
  send_to(dir.file("uevents"), kVmgenid);
  EXPECT_TRUE(w.read_announcements());  // two at once are one change
  EXPECT_FALSE(w.read_announcements());
}

// The real socket: the kernel's uevents from the real vmgenid device arrive on it (root: the
// device's uevent file is root's), and an ordinary change of that device is not a new
// generation.
TEST(GenerationWatch, KernelUeventsOfTheVmgenidDeviceArriveAndOnlyNewVmgenidCounts) {
  CT_SKIP_UNLESS_ROOT("writes /sys/devices/platform/VMGENCTR:00/uevent");
  const char* kUeventFile = "/sys/bus/platform/drivers/vmgenid/VMGENCTR:00/uevent";
  if (access(kUeventFile, W_OK) != 0) GTEST_SKIP() << "no vmgenid device here";
  auto w = ct::GenerationWatch::kernel();
  std::ofstream(kUeventFile) << "change";
  pollfd p{w.fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 30000), 1) << "the kernel's uevent never arrived";
  EXPECT_FALSE(w.read_announcements());
}

}  // namespace
