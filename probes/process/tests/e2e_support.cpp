#include "e2e_support.hpp"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

namespace cellos::telemetry::process::testing {

using namespace std::chrono_literals;

Agent::Agent(const std::string& probe_options, std::vector<std::string> prefix)
    : capture_(dir_.file("events")) {
  const std::string config = dir_.write(
      "agent.toml", "[agent]\nheartbeat_interval_ms = 0\n[[probes.process]]\n" + probe_options +
                        "\n[[sinks.capture]]\npath = \"" + capture_ + "\"\n");
  std::vector<std::string> argv = std::move(prefix);
  for (auto& a : t::agent_argv(config, {"--plugin-dir", t::fixture_dir()})) argv.push_back(a);
  child_ = std::make_unique<t::ChildProcess>(argv, dir_);
}

Agent::~Agent() {
  if (child_->running()) stop();
}

int Agent::stop() {
  child_->signal(SIGTERM);
  return child_->wait(30s).value_or(-1);
}

std::optional<t::Captured> Agent::find(const std::string& source, pid_t pid,
                                       const std::string& comm) const {
  for (auto& e : events()) {
    if (e.probe_source == source && e.guest_pid == static_cast<uint32_t>(pid) &&
        (comm.empty() || e.guest_comm == comm)) {
      return e;
    }
  }
  return std::nullopt;
}

size_t Agent::count(const std::string& source, pid_t pid) const {
  size_t n = 0;
  for (auto& e : events()) {
    n += e.probe_source == source && e.guest_pid == static_cast<uint32_t>(pid);
  }
  return n;
}

bool Agent::await(const std::string& source, pid_t pid, const std::string& comm) const {
  return t::eventually([&] { return find(source, pid, comm).has_value(); }, 30s);
}

pid_t spawn_with_comm(const std::string& comm, const std::string& go_file) {
  char saved[32] = {};
  prctl(PR_GET_NAME, saved);
  prctl(PR_SET_NAME, comm.c_str());
  const pid_t pid = fork();
  if (pid == 0) {
    if (!go_file.empty()) {
      for (int i = 0; i < 12000 && access(go_file.c_str(), F_OK) != 0; ++i) usleep(5000);
    }
    _exit(0);
  }
  prctl(PR_SET_NAME, saved);
  return pid;
}

pid_t run_true() {
  const pid_t pid = fork();
  if (pid == 0) {
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

pid_t spawn_with_comm_at_pid(const std::string& comm, pid_t pid, const std::string& go_file) {
  char saved[32] = {};
  prctl(PR_GET_NAME, saved);
  prctl(PR_SET_NAME, comm.c_str());
  pid_t want = pid;
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uintptr_t>(&want);
  args.set_tid_size = 1;
  const long child = syscall(SYS_clone3, &args, sizeof args);
  if (child == 0) {
    // A raw clone: only async-signal-safe calls from here on.
    for (int i = 0; i < 12000 && access(go_file.c_str(), F_OK) != 0; ++i) usleep(5000);
    _exit(0);
  }
  const int err = errno;
  prctl(PR_SET_NAME, saved);
  errno = err;
  return static_cast<pid_t>(child);
}

// The state letter of /proc/PID/stat (field 3, after the last ')').
char process_state(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size() ? '?' : line[close + 2];
}

void freeze(const Agent& agent) {
  agent.process().signal(SIGSTOP);
  t::eventually([&] { return process_state(agent.pid()) == 'T'; }, 30s);
}

void thaw(const Agent& agent) {
  agent.process().signal(SIGCONT);
}

bool wait_until_observing(const Agent& agent, bool polling) {
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end) {
    if (polling) {
      // A sweep only sees what lives across it, so this one waits to be seen. One alive at the
      // silent first sweep is never reported, hence a fresh one each round.
      const std::string go = agent.dir().file("ready-go");
      const pid_t pid = spawn_with_comm("ct-ready", go);
      const bool seen = t::eventually(
          [&] { return agent.find("process.spawned", pid, "ct-ready").has_value(); }, 1s);
      touch(go);
      t::wait_pid(pid);
      std::remove(go.c_str());
      if (seen) return true;
    } else {
      const pid_t pid = spawn_with_comm("ct-ready");
      t::wait_pid(pid);
      if (t::eventually([&] { return agent.find("process.exited", pid, "ct-ready").has_value(); },
                        200ms)) {
        return true;
      }
    }
  }
  return false;
}

bool can_unshare_net() {
  if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0) return false;
  return std::system("/usr/bin/unshare --net /bin/true") == 0;
}

void touch(const std::string& path) {
  std::ofstream(path) << "go\n";
}

}  // namespace cellos::telemetry::process::testing

namespace cellos::telemetry::process::testing {

namespace {

// nlmsghdr, cn_msg, the operation: byte by byte, as cn_msg ends in a flexible array.
bool send_connector_op(int fd, uint32_t op) {
  char req[NLMSG_LENGTH(sizeof(cn_msg) + sizeof op)] = {};
  nlmsghdr nh{};
  nh.nlmsg_len = sizeof req;
  nh.nlmsg_type = NLMSG_DONE;
  cn_msg cn{};
  cn.id.idx = CN_IDX_PROC;
  cn.id.val = CN_VAL_PROC;
  cn.len = sizeof op;
  std::memcpy(req, &nh, sizeof nh);
  std::memcpy(req + NLMSG_HDRLEN, &cn, sizeof cn);
  std::memcpy(req + NLMSG_HDRLEN + sizeof cn, &op, sizeof op);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  return sendto(fd, req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
         static_cast<ssize_t>(sizeof req);
}

}  // namespace

std::vector<pid_t> fork_on_each_cpu() {
  cpu_set_t all;
  CPU_ZERO(&all);
  sched_getaffinity(0, sizeof all, &all);
  std::vector<pid_t> pids;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &all)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
    const pid_t pid = fork();  // the fork message is sent from this CPU, the exit from the child's
    if (pid == 0) _exit(0);
    t::wait_pid(pid);
    pids.push_back(pid);
  }
  sched_setaffinity(0, sizeof all, &all);
  return pids;
}

std::optional<uint64_t> connector_drops(pid_t pid) {
  std::set<std::string> inodes;
  const std::string fds = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(fds, ec)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(target.substr(8, target.size() - 9));
  }
  std::ifstream table("/proc/net/netlink");
  std::string line;
  std::getline(table, line);  // the header: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  std::optional<uint64_t> drops;
  while (std::getline(table, line)) {
    std::istringstream f(line);
    std::string sk, eth, port, groups, rmem, wmem, dump, locks, dropped, inode;
    if (!(f >> sk >> eth >> port >> groups >> rmem >> wmem >> dump >> locks >> dropped >> inode))
      continue;
    if (eth != "11" || !inodes.count(inode)) continue;  // 11: NETLINK_CONNECTOR
    // The probe's main socket, bound first, took the process's pid as its port (netlink
    // autobind); the exec trigger socket (context = "full"), bound after it, another one. The
    // trigger drops what it cannot hold by design and counts nothing: not the socket asked about.
    if (port != std::to_string(pid)) continue;
    drops = drops.value_or(0) + std::stoull(dropped);
  }
  return drops;
}

std::set<uint32_t> live_processes() {
  std::set<uint32_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const char state = process_state(static_cast<pid_t>(std::stoul(name)));
    if (state != '?' && state != 'Z') pids.insert(static_cast<uint32_t>(std::stoul(name)));
  }
  return pids;
}

void ping_each_cpu(const std::vector<int>& only) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd < 0) return;
  cpu_set_t all;
  CPU_ZERO(&all);
  sched_getaffinity(0, sizeof all, &all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &all)) continue;
    if (!only.empty() && std::find(only.begin(), only.end(), cpu) == only.end()) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
    // The kernel handles the request in the sender's context: the ack leaves from this CPU.
    send_connector_op(fd, 0);
  }
  sched_setaffinity(0, sizeof all, &all);
  close(fd);
}

ConnectorWitness::ConnectorWitness() {
  fd_ = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (fd_ < 0) throw std::runtime_error("witness: socket: " + std::string(strerror(errno)));
  const int size = 32 << 20;  // the kernel doubles it: 64 MiB, tens of thousands of messages
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = CN_IDX_PROC;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd_);
    throw std::runtime_error("witness: bind: " + std::string(strerror(errno)));
  }
  if (!send_connector_op(fd_, PROC_CN_MCAST_LISTEN)) {
    close(fd_);
    throw std::runtime_error("witness: subscribe: " + std::string(strerror(errno)));
  }
}

ConnectorWitness::~ConnectorWitness() {
  send_connector_op(fd_, PROC_CN_MCAST_IGNORE);
  close(fd_);
}

bool ConnectorWitness::read() {
  char buf[512];
  for (;;) {
    const ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        lost_ = true;
        continue;
      }
      break;  // EAGAIN: all read
    }
    const size_t header = NLMSG_HDRLEN + sizeof(cn_msg);
    if (static_cast<size_t>(n) < header + 8) continue;
    cn_msg cn;
    std::memcpy(&cn, buf + NLMSG_HDRLEN, sizeof cn);
    uint32_t what = 0, cpu = 0;  // proc_event begins with what, then cpu
    std::memcpy(&what, buf + header, 4);
    std::memcpy(&cpu, buf + header + 4, 4);
    messages_.push_back(Message{cpu, cn.seq, what});
  }
  return !lost_;
}

}  // namespace cellos::telemetry::process::testing
