// End-to-end helpers: the real agent with the process probe and the capture sink, and children
// whose names and lifetimes the test controls.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness.hpp"

namespace cellos::telemetry::process::testing {

namespace t = cellos::telemetry::testing;

class Agent {
 public:
  // probe_options: TOML lines for [[probes.process]]. prefix: a command the agent runs under
  // (e.g. unshare --net).
  explicit Agent(const std::string& probe_options, std::vector<std::string> prefix = {});
  ~Agent();

  std::vector<t::Captured> events() const { return t::read_captured(capture_); }
  // The first captured event with this source and pid (and comm, unless empty).
  std::optional<t::Captured> find(const std::string& source, pid_t pid,
                                  const std::string& comm = "") const;
  size_t count(const std::string& source, pid_t pid) const;
  // Waits (generously) until find() succeeds.
  bool await(const std::string& source, pid_t pid, const std::string& comm = "") const;

  t::ChildProcess& process() const { return *child_; }
  pid_t pid() const { return child_->pid(); }
  std::string err() const { return child_->err(); }
  const t::TempDir& dir() const { return dir_; }
  int stop();  // SIGTERM; the exit code

 private:
  t::TempDir dir_;
  std::string capture_;
  std::unique_ptr<t::ChildProcess> child_;
};

// Forks a child that already bears `comm` from its first instant (the parent renames itself
// around the fork), so no observer can see it under another name. It exits once go_file
// exists, or at once if go_file is empty. Reap it with t::wait_pid.
pid_t spawn_with_comm(const std::string& comm, const std::string& go_file = "");

// fork + exec /bin/true; the pid, to be reaped with t::wait_pid.
pid_t run_true();

// Like spawn_with_comm, but the child gets exactly `pid` (clone3 with set_tid: root only), so
// a test can hand a dead process's pid to a new one without touching the kernel's pid counter.
// -1 with errno set when the kernel refuses (EEXIST: the pid is taken; EPERM: not root).
pid_t spawn_with_comm_at_pid(const std::string& comm, pid_t pid, const std::string& go_file);

// SIGSTOP, then waits until the kernel shows the agent stopped, so that from here on every
// event queues up unhandled. thaw() lets it go.
void freeze(const Agent& agent);
void thaw(const Agent& agent);

// Blocks until a process started now is reported: the agent's probe is observing.
bool wait_until_observing(const Agent& agent, bool polling);

// Whether `unshare --net` can run the agent outside the initial network namespace, where the
// kernel refuses process connector subscriptions.
bool can_unshare_net();

void touch(const std::string& path);

// Forks a child that exits at once from each CPU this process may run on (the caller's thread
// pinned to it for the fork), so every CPU sends the connector a message: a baseline for each
// CPU's sequence numbers before a test's losses, or the message that closes a gap after them.
// The children's pids, reaped.
std::vector<pid_t> fork_on_each_cpu();

// Exactly one connector message from each CPU, and no process: from a throwaway socket pinned to
// each CPU in turn, an operation the kernel does not know, which it acknowledges (EINVAL) to every
// listener and otherwise ignores. cpus: those to ping (default: all this process may use).
void ping_each_cpu(const std::vector<int>& cpus = {});

// The kernel's own count of messages it dropped for pid's process connector socket: the Drops
// column of /proc/net/netlink (protocol 11) for the socket whose port is pid (the probe's main
// one), read from outside the process. nullopt when pid holds no such socket.
std::optional<uint64_t> connector_drops(pid_t pid);

// The state letter of /proc/PID/stat ('R', 'S', 'Z'...), or '?' when there is no such process.
char process_state(pid_t pid);

// The thread-group ids /proc lists now, zombies left out (the probe reports an exit when the
// kernel does, before the parent reaps it).
std::set<uint32_t> live_processes();

// An independent witness of what the kernel sent: its own connector socket, written apart from
// ProcConnector, with a queue large enough to lose nothing in a test. Every message is kept as
// (cpu, seq, what).
class ConnectorWitness {
 public:
  ConnectorWitness();  // subscribed when it returns; throws std::runtime_error if it cannot
  ~ConnectorWitness();
  ConnectorWitness(const ConnectorWitness&) = delete;
  ConnectorWitness& operator=(const ConnectorWitness&) = delete;

  struct Message {
    uint32_t cpu, seq, what;
  };
  // Reads what is queued; false if the kernel reported a loss (the witness is then worthless).
  bool read();
  const std::vector<Message>& messages() const { return messages_; }

 private:
  int fd_ = -1;
  bool lost_ = false;
  std::vector<Message> messages_;
};

}  // namespace cellos::telemetry::process::testing
