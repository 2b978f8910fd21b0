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
#include <unordered_map>

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

  int fd() const { return fd_.get(); }

  // Reads every queued record into the name table, without blocking.
  void refresh() override;
  const std::string* lookup(uint32_t pid) const override;
  // Names of tasks whose exits were never handled (events lost) could mislead a later holder
  // of the pid; a resync starts over.
  void clear() { names_.clear(); }
  void forget(uint32_t pid) override { names_.erase(pid); }

 private:
  static constexpr size_t kBatch = 16;
  static constexpr size_t kSlotBytes = 1024;  // a record is about 600 bytes
  // Records whose exits are never handled (lost events) would pile up; past this many the
  // table starts over, at worst costing names, never memory.
  static constexpr size_t kMaxNames = 4096;

  bool request(uint16_t type, uint8_t cmd, uint16_t attr, const void* data, size_t len);
  int await_reply(char* buf, size_t size);

  UniqueFd fd_;
  uint16_t family_ = 0;
  std::string cpumask_;
  std::unordered_map<uint32_t, std::string> names_;
  std::array<std::array<uint64_t, kSlotBytes / 8>, kBatch> slots_{};
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovs_{};
};

}  // namespace cellos::telemetry::process
