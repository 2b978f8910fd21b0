// Reading what procfs says about one process: /proc/PID/stat and /proc/PID/comm.
#pragma once

#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/unique_fd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellos::telemetry::process {

struct StatFields {
  std::string_view comm;    // points into the parsed text
  char state = '?';         // field 3: R, S, D, Z (zombie: exited, not yet reaped)...
  uint32_t ppid = 0;        // field 4: the parent's tgid (0 for the kernel's own roots)
  uint64_t start_time = 0;  // field 22: clock ticks after boot
};

// Parses the one line of /proc/PID/stat. comm is taken between the first '(' and the LAST ')'
// because a process may name itself "a) b (c"; every field after it is numeric or a state
// letter, so counting from the last ')' is unambiguous. nullopt when the text is cut short.
std::optional<StatFields> parse_stat(std::string_view text);

// comm as /proc/PID/comm gives it, without the newline the kernel appends.
std::string_view strip_newline(std::string_view text);

// Reads a small procfs file relative to dir_fd into buf (NUL-terminated); the number of bytes,
// or -1 with errno set. One read suffices: procfs hands these files over in one go.
long read_small_file(int dir_fd, const char* path, char* buf, size_t size);

// comm as the wire carries it: at most CT_COMM_MAX_BYTES (15), like the kernel's task comm. procfs
// shows kernel workers longer ("kworker/u4:1-events_unbound"); those are cut, never inside a UTF-8
// sequence.
std::string_view wire_comm(std::string_view comm);

struct ProcessStat {
  std::string comm;
  char state = '?';
  uint32_t ppid = 0;
  uint64_t start_time = 0;
};

// /proc/PID below proc_fd opened as a directory (invalid when the process is gone): it stands
// for the kernel's struct pid, not the number, so every read through it is about one process.
UniqueFd open_pid_dir(int proc_fd, uint32_t pid);

// /proc/PID/stat read through an open /proc/PID directory (pid_dir_fd): every later read
// through that descriptor is about the same process or fails, never about a later holder of
// the pid (the directory stands for the kernel's struct pid, not the number).
std::optional<ProcessStat> read_stat_at(int pid_dir_fd);

// /proc/PID/stat below dir_fd: comm and start time from one read. nullopt when the process is
// gone (or the file unreadable) - normal for short-lived processes, never an error.
std::optional<ProcessStat> read_process_stat(int dir_fd, uint32_t pid);

// /proc/PID/comm below dir_fd, newline stripped; nullopt when the process is gone.
std::optional<std::string> read_process_comm(int dir_fd, uint32_t pid);

// comm through an open /proc/PID directory (open_pid_dir): about its process, or nullopt once
// that process has been reaped.
std::optional<std::string> read_comm_at(int pid_dir_fd);

}  // namespace cellos::telemetry::process
