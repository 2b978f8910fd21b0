// What a kernel-facility message says, for the messages the probe turns into their own events.
// Each parser takes the message as /dev/kmsg gives it (escaped, see kmsg_record.hpp) and returns
// nullopt unless the whole pattern is there: a message that only resembles one becomes at most a
// kernel.log. Formats (Linux 6.18; older kernels print the same leading fields):
//
//   segv[25143]: segfault at 10 ip 0000557ac4da3139 sp 00007ffea7dcec30 error 4 in
//     segv[1139,557ac4da3000+1000] likely on CPU 1 (core 1, socket 0)
//                                        arch/x86/mm/fault.c show_signal_msg
//   traps: ud[25941] trap invalid opcode ip:55ae63b2912d sp:7fffb2d67450 error:0 in ud[...]
//   traps: gp[26094] general protection fault ip:561d0eb0f13f sp:7ffe31772050 error:0 in gp[...]
//                                        arch/x86/kernel/traps.c
//   oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,
//     oom_memcg=/ct,task_memcg=/ct,task=hog,pid=25267,uid=0       mm/oom_kill.c dump_oom_victim
//   Memory cgroup out of memory: Killed process 25267 (hog) total-vm:35372kB, anon-rss:32640kB,
//     file-rss:860kB, shmem-rss:0kB, UID:0 pgtables:108kB oom_score_adj:0   __oom_kill_process
//   INFO: task COMM:PID blocked for more than N seconds.         kernel/hung_task.c
//
// A comm is whatever a process named itself (up to 15 bytes, any of them but NUL), so each parser
// anchors on the kernel's own text after the comm, never on what the comm may contain.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellos::telemetry::kernel {

// Texts taken from a message are cut to this many bytes (memcg paths, object names, warnings).
inline constexpr size_t kMaxTextBytes = 256;

struct Segfault {
  uint32_t pid = 0;
  std::string comm;  // unescaped, at most 15 bytes
  uint64_t address = 0, ip = 0, sp = 0, error = 0;
  std::string object;  // the mapping ip falls in ("segv", "libc.so.6"); empty if none
};
std::optional<Segfault> parse_segfault(std::string_view message);

struct Trap {
  uint32_t pid = 0;
  std::string comm;
  std::string trap;  // "invalid opcode", "divide error", "general protection fault", ...
  std::optional<uint64_t> ip, sp, error;
  std::string object;
};
std::optional<Trap> parse_trap(std::string_view message);

struct OomVictim {  // the "Killed process" record
  uint32_t pid = 0;
  std::string comm;
  uint64_t total_vm_kib = 0, anon_rss_kib = 0, file_rss_kib = 0, shmem_rss_kib = 0;
  std::optional<uint64_t> uid;
  std::optional<int64_t> oom_score_adj;
};
std::optional<OomVictim> parse_oom_victim(std::string_view message);

struct OomContext {  // its "oom-kill:" companion, printed just before it
  uint32_t pid = 0;
  std::optional<uint64_t> uid;
  std::string constraint;  // CONSTRAINT_NONE, CONSTRAINT_MEMCG, ...
  std::string memcg;       // task_memcg: the victim's memory cgroup
};
std::optional<OomContext> parse_oom_context(std::string_view message);

struct HungTask {
  uint32_t pid = 0;
  std::string comm;
  uint64_t blocked_s = 0;
};
std::optional<HungTask> parse_hung_task(std::string_view message);

// WARNING:, BUG:, Oops, kernel BUG at: the start of a report of the kernel's own failure. The pid
// is the one the report names ("PID: 123"), when it does.
struct KernelWarning {
  std::optional<uint32_t> pid;
};
std::optional<KernelWarning> parse_warning(std::string_view message);

// comm as it travels (guest_comm): the kernel's escapes undone, cut to 15 bytes.
std::string comm_from_kmsg(std::string_view escaped);

}  // namespace cellos::telemetry::kernel
