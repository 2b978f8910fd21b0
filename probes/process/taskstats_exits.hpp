// The kernel's taskstats exit records (generic netlink family "TASKSTATS"), used for one thing:
// the comm a task had when it exited.
//
// Why: the process connector's exec event carries no name, so the probe reads /proc/PID/comm
// when it handles the event. A process that lives a millisecond can be gone and reaped by then,
// and /proc has nothing left to say. Its taskstats record does: the kernel sends it from
// do_exit() before the connector's exit event, with ac_comm set, so by the time a read of
// /proc fails, the record is already queued here.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "exit_names.hpp"
#include "unique_fd.hpp"

namespace cellos::telemetry::process {

struct TaskExit {
  uint32_t pid = 0;
  std::string comm;
};

// Decodes one TASKSTATS_CMD_NEW datagram; nullopt for anything else.
std::optional<TaskExit> decode_task_exit(const char* data, size_t len);

class TaskstatsExits final : public ExitNames {
 public:
  // Resolves the family and registers for exits on every possible CPU. Throws
  // std::system_error saying which step failed (no CONFIG_TASKSTATS, no CAP_NET_ADMIN...).
  explicit TaskstatsExits(size_t receive_buffer_bytes);
  ~TaskstatsExits() override;  // deregisters
  TaskstatsExits(const TaskstatsExits&) = delete;
  TaskstatsExits& operator=(const TaskstatsExits&) = delete;

  // Reads every queued record into the ring, without blocking. The probe calls it every few
  // exits so the queue stays short and the newest records are the ones kept.
  void refresh();
  // Reads what is queued first, then searches newest to oldest: the record of the exit asked
  // about is queued by the time anyone asks, and it shadows older ones for the same pid.
  std::optional<std::string> name_at_exit(uint32_t pid) override;
  // Records of exits whose events were lost could mislead; a resync starts over.
  void clear() { size_ = 0; }

 private:
  static constexpr size_t kBatch = 16;
  static constexpr size_t kSlotBytes = 1024;  // a record is about 600 bytes
  // How far back names are kept: the backlog of events between an exit and the handling of
  // that process's exec event, with room to spare. A fixed ring: no allocation per exit.
  static constexpr size_t kRing = 1024;

  struct Record {
    uint32_t pid;
    char comm[16];
  };

  bool request(uint16_t type, uint8_t cmd, uint16_t attr, const void* data, size_t len);
  int await_reply(char* buf, size_t size);
  void remember(const TaskExit& e);

  UniqueFd fd_;
  uint16_t family_ = 0;
  std::string cpumask_;
  std::array<Record, kRing> ring_{};
  size_t next_ = 0;  // where the next record goes
  size_t size_ = 0;  // how many of ring_ hold records
  std::array<std::array<uint64_t, kSlotBytes / 8>, kBatch> slots_{};
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovs_{};
};

}  // namespace cellos::telemetry::process
