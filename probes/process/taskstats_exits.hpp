// The kernel's taskstats exit records (generic netlink family "TASKSTATS"), used for one thing:
// the comm a task had when it exited.
//
// Why: the process connector's exec event carries no name, so the probe reads /proc/PID/comm
// when it handles the event. A process that lives a millisecond can be gone and reaped by then,
// and /proc has nothing left to say. Its taskstats record does: the kernel sends it from
// do_exit() before the connector's exit event, with ac_comm set, so by the time a read of
// /proc fails, the record is already queued here. For the same reason a record held for a pid
// whose exit event is still unhandled says that /proc/PID may show a later holder by now.
#pragma once

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/taskstats.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include <cellos/telemetry/unique_fd.hpp>
#include "exit_accounting.hpp"
#include "exit_names.hpp"
#include "exit_records.hpp"

namespace cellos::telemetry::process {

struct TaskExit {
  uint32_t pid = 0;
  uint32_t tgid = 0;  // ac_tgid; 0 from a kernel too old to say
  std::string comm;
  bool has_accounting = false;  // the record is long enough to hold it (every kernel's is)
  ExitAccounting task;          // this task's own (AGGR_PID)
  bool has_group = false;       // AGGR_TGID: the last thread of a multi-threaded group exited
  ExitAccounting group;         // the group's aggregate, as far as the kernel fills it
};

// Decodes one TASKSTATS_CMD_NEW datagram; nullopt for anything else (or without AGGR_PID).
std::optional<TaskExit> decode_task_exit(const char* data, size_t len);

// The largest datagram the kernel sends for one exit, given its struct taskstats size: the
// genetlink header, then, when the last thread of a multi-threaded group exits, both
// TASKSTATS_TYPE_AGGR_PID and TASKSTATS_TYPE_AGGR_TGID, each nesting the id and the struct.
constexpr size_t taskstats_record_bytes(size_t stats_bytes) {
  const size_t aggregate =
      NLA_HDRLEN + NLA_ALIGN(NLA_HDRLEN + sizeof(uint32_t)) + NLA_ALIGN(NLA_HDRLEN + stats_bytes);
  return NLMSG_LENGTH(GENL_HDRLEN) + 2 * aggregate;
}

class TaskstatsExits final : public ExitNames {
 public:
  // A receive slot: the largest record with room for a kernel whose struct taskstats has grown
  // to twice the size these headers know (version 13 here is 416 bytes; Linux 6.18's is 560,
  // which makes its largest record 1,172 bytes), rounded up to a KiB. A record that still does
  // not fit is counted (truncated()), never taken for a shorter one.
  static constexpr size_t kSlotBytes =
      (taskstats_record_bytes(2 * sizeof(taskstats)) + 1023) / 1024 * 1024;

  // Resolves the family and registers for exits on every possible CPU. Throws
  // std::system_error saying which step failed (no CONFIG_TASKSTATS, no CAP_NET_ADMIN...).
  // receive_buffer_bytes also bounds the records held (see exit_records.hpp).
  explicit TaskstatsExits(size_t receive_buffer_bytes);
  ~TaskstatsExits() override;  // deregisters
  TaskstatsExits(const TaskstatsExits&) = delete;
  TaskstatsExits& operator=(const TaskstatsExits&) = delete;

  // Reads every queued record, without blocking. The probe calls it before handling connector
  // events that include exits, so the queue stays short and each record is held by the time
  // its exit event is handled.
  void refresh();
  // Reads what is queued first: the record of an exit /proc can no longer show is queued by
  // then. nullopt while records may have been lost (see settle()).
  std::optional<std::string> name_at_exit(uint32_t pid) override;
  std::optional<ExitAccounting> accounting_at_exit(uint32_t pid) override;
  bool exit_pending(uint32_t pid) override;
  bool exit_held(uint32_t pid) override { return !lost_ && records_.holds(pid); }
  void exit_handled(uint32_t pid) override;
  // Records of exits whose events were lost could mislead; a resync starts over.
  void clear() {
    records_.clear();
    threads_.clear();
  }
  // Every connector event queued before records were lost has been handled (the connector's
  // queue was read to empty since): what is held from now on can be trusted again.
  void settle() { lost_ = false; }

  // For the probe's warnings: records lost to a full queue (ENOBUFS, at least one each time),
  // cut short by the slot, or dropped unreleased from a full store.
  uint64_t losses() const { return losses_; }
  uint64_t truncated() const { return truncated_; }
  uint64_t evicted() const { return records_.evicted(); }

 private:
  static constexpr size_t kBatch = 16;

  void take(const TaskExit& e);
  bool request(uint16_t type, uint8_t cmd, uint16_t attr, const void* data, size_t len);
  int await_reply(char* buf, size_t size);

  UniqueFd fd_;
  uint16_t family_ = 0;
  std::string cpumask_;
  ExitRecords records_;
  // What the exited threads of each multi-threaded group cost, summed until its leader's record
  // (the group's end) arrives: the group aggregate never holds I/O, and on kernels before the
  // 2026 fix ("taskstats: retain dead thread stats in TGID queries") no CPU time either.
  std::unordered_map<uint32_t, ExitAccounting> threads_;
  bool lost_ = false;
  uint64_t losses_ = 0;
  uint64_t truncated_ = 0;
  std::array<std::array<uint64_t, kSlotBytes / 8>, kBatch> slots_{};
  std::array<mmsghdr, kBatch> headers_{};
  std::array<iovec, kBatch> iovs_{};
};

}  // namespace cellos::telemetry::process
