// Noticing a change of VM generation: a snapshot restored, or this VM cloned from one.
//
// The guest kernel's vmgenid driver (drivers/virt/vmgenid.c, CONFIG_VMGENID) re-reads the
// generation ID when the hypervisor notifies it (Firecracker does on every snapshot restore)
// and, when the ID changed, reseeds the RNG and sends a KOBJ_CHANGE uevent on its device with
// the one variable NEW_VMGENID=1. Uevents reach user space over NETLINK_KOBJECT_UEVENT,
// multicast group 1, as one datagram each: "change@DEVPATH\0ACTION=change\0DEVPATH=...\0
// SUBSYSTEM=...\0NEW_VMGENID=1\0...SEQNUM=N\0". Nothing else needs to run: no udev, no sysfs
// polling. A datagram is believed only when its sender is the kernel (netlink port 0); a
// process cannot send as the kernel, so none can make the agent change streams.
//
// The seam for tests: the same parser over datagrams from a Unix socket the test owns
// (--uevent-socket-for-test, developer builds only), since no test may make the hypervisor
// change the generation, and the kernel's synthetic uevents (writing to a device's uevent
// file) cannot carry NEW_VMGENID=1 (their variables are prefixed SYNTH_ARG_).
#pragma once

#include <cellos/telemetry/unique_fd.hpp>

#include <string>
#include <string_view>

namespace cellos::telemetry {

// Whether one uevent datagram announces a new VM generation: a "change@" event carrying the
// variable NEW_VMGENID=1 exactly (not SYNTH_ARG_NEW_VMGENID=1, not a prefix of a longer one).
bool is_new_vmgenid_uevent(std::string_view datagram);

class GenerationWatch {
 public:
  // The kernel's uevents (NETLINK_KOBJECT_UEVENT, group 1). Throws std::system_error when the
  // socket cannot be made (the agent then runs without noticing generation changes, and says so).
  static GenerationWatch kernel();
  // Datagrams sent to a Unix socket bound at path, from anyone: tests only.
  static GenerationWatch unix_socket_for_test(const std::string& path);

  int fd() const { return fd_.get(); }
  // Reads every datagram waiting (non-blocking); true when at least one announced a new
  // generation (several announcements read at once are one change: the ID they lead to is one).
  bool read_announcements();

 private:
  GenerationWatch(UniqueFd fd, bool from_kernel_only)
      : fd_(std::move(fd)), from_kernel_only_(from_kernel_only) {}
  UniqueFd fd_;
  bool from_kernel_only_;
};

}  // namespace cellos::telemetry
