// --check-config is a dry run: it loads every plugin and creates every instance (so that a
// plugin can refuse values its option table cannot express), but it starts nothing. The rule
// that makes this safe (plugin_abi.h, docs/writing-a-probe.md): create may validate but must
// not touch the world (files, sockets, processes); that belongs in start.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "agent.hpp"
#include "config.hpp"
#include "harness.hpp"

namespace ct = cellos::telemetry;
namespace t = cellos::telemetry::testing;

namespace {

class Listener {
 public:
  explicit Listener(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 || listen(fd_, 4) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Listener() {
    if (fd_ >= 0) close(fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  bool ok() const { return fd_ >= 0; }
  // A connection attempt waits in the backlog until accepted: readable means someone came.
  bool someone_connected() const {
    pollfd p{fd_, POLLIN, 0};
    return poll(&p, 1, 0) == 1;
  }

 private:
  int fd_ = -1;
};

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

std::string in_tree_config(const t::TempDir& dir, const std::string& socket_path) {
  return dir.write("agent.toml",
                   "[[probes.process]]\n"
                   "[[sinks.vsock]]\naddress = \"unix:" +
                       socket_path +
                       "\"\n"
                       "[[sinks.stdout]]\n");
}

TEST(CheckConfig, InTreePluginsConnectNowhereAndWriteNothing) {
  t::TempDir dir;
  const std::string socket_path = dir.file("vm.vsock_9001");
  Listener listener(socket_path);
  ASSERT_TRUE(listener.ok()) << std::strerror(errno);
  const std::string config = in_tree_config(dir, socket_path);
  const auto before = entries(dir.path());

  const auto o =
      t::run_agent({"--check-config", "--config", config, "--plugin-dir", t::plugin_dir()});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_NE(o.out.find("OK: 1 probe(s), 2 sink(s)"), std::string::npos) << o.out;
  // The agent has exited: a connection it made would be waiting in the backlog.
  EXPECT_FALSE(listener.someone_connected());
  EXPECT_EQ(entries(dir.path()), before);
  // The stdout sink printed no event (each would be one JSON object on a line).
  EXPECT_TRUE(t::parse_json_lines(o.out).empty()) << o.out;
  EXPECT_EQ(o.err.find("connected to"), std::string::npos) << o.err;
}

TEST(CheckConfig, SinkThatWritesAFileCreatesNothingInADryRun) {
  t::TempDir dir;
  const std::string events = dir.file("events");
  const std::string config =
      dir.write("agent.toml", "[[sinks.capture]]\npath = \"" + events + "\"\n");
  const auto o =
      t::run_agent({"--check-config", "--config", config, "--plugin-dir", t::fixture_dir()});
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_FALSE(std::filesystem::exists(events));
}

// Without going through the binary: the in-tree plugins' create, in this process, opens no
// socket, no file for writing, and starts no process or thread.
struct ProcessState {
  std::map<int, std::string> fds;  // fd -> what it refers to
  std::map<int, int> access;       // fd -> O_ACCMODE bits
  std::string children;
  int threads = 0;

  static ProcessState now() {
    ProcessState s;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      const int fd = std::stoi(e.path().filename().string());
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(e.path(), ec);
      if (ec) continue;  // the directory iterator's own fd, already closed
      s.fds[fd] = target.string();
      s.access[fd] = fcntl(fd, F_GETFL) & O_ACCMODE;
    }
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      ++s.threads;
      s.children += t::read_file(task.path().string() + "/children");
    }
    return s;
  }
};

TEST(CheckConfig, CreatingTheInTreePluginsOpensNoSocketNoWritableFileNoProcess) {
  t::TempDir dir;
  const std::string socket_path = dir.file("vm.vsock_9001");
  Listener listener(socket_path);
  ASSERT_TRUE(listener.ok()) << std::strerror(errno);
  auto cfg = ct::load_config_file(in_tree_config(dir, socket_path), dir.file("agent.d"));
  ct::Agent agent(std::move(cfg), {t::plugin_dir()});
  agent.load();
  const auto before = ProcessState::now();
  agent.create();  // never started: what --check-config does
  const auto after = ProcessState::now();

  for (const auto& [fd, target] : after.fds) {
    if (before.fds.count(fd) && before.fds.at(fd) == target) continue;
    EXPECT_FALSE(target.starts_with("socket:")) << "fd " << fd << " is " << target;
    EXPECT_EQ(after.access.at(fd), O_RDONLY) << "fd " << fd << " (" << target << ") is writable";
  }
  EXPECT_EQ(after.threads, before.threads);
  EXPECT_EQ(after.children, before.children);
  EXPECT_FALSE(listener.someone_connected());
  EXPECT_EQ(entries(dir.path()), (std::set<std::string>{"agent.toml", "vm.vsock_9001"}));
}

}  // namespace
