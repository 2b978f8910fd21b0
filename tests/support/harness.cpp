#include "harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace cellos::telemetry::testing {
namespace {

// The build's own paths, unless the environment points elsewhere (e.g. an installed agent).
std::string env(const char* name, const char* built_in) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : built_in;
}

}  // namespace

std::string agent_path() {
  return env("CT_AGENT", CT_DEFAULT_AGENT);
}
std::string plugin_dir() {
  return env("CT_PLUGIN_DIR", CT_DEFAULT_PLUGIN_DIR);
}
std::string fixture_dir() {
  return env("CT_FIXTURE_DIR", CT_DEFAULT_FIXTURE_DIR);
}
std::string source_dir() {
  return env("CT_SOURCE_DIR", CT_DEFAULT_SOURCE_DIR);
}
std::string binary_dir() {
  return env("CT_BINARY_DIR", CT_DEFAULT_BINARY_DIR);
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ct-test-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& content) const {
  const std::string p = file(name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ChildProcess::ChildProcess(std::vector<std::string> argv, const TempDir& dir) {
  static int counter = 0;
  const std::string tag = std::to_string(++counter);
  out_path_ = dir.file("child" + tag + ".out");
  err_path_ = dir.file("child" + tag + ".err");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    const int out = open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    // Signals blocked in the test runner would otherwise stay blocked in the agent.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::ChildProcess(std::vector<std::string> argv, int out_fd, int err_fd) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    // Through fresh numbers first, so out_fd == 2 or err_fd == 1 cannot clobber each other.
    const int out = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
    const int err = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
    dup2(out, 1);
    dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool ChildProcess::running() {
  if (reaped_) return false;
  return !wait(std::chrono::milliseconds(0)).has_value();
}

ConsolePipe::ConsolePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  r_ = fds[0];
  w_ = fds[1];
  probe_ = open(("/proc/self/fd/" + std::to_string(w_)).c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (probe_ < 0) throw std::runtime_error("cannot reopen the pipe's write end");
}

ConsolePipe::~ConsolePipe() {
  for (int fd : {r_, w_, probe_}) {
    if (fd >= 0) close(fd);
  }
}

bool ConsolePipe::full() const {
  return write(probe_, "\n", 1) < 0 && errno == EAGAIN;
}

std::string ConsolePipe::drain() const {
  std::string out;
  char buf[65536];
  while (true) {
    pollfd p{r_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) break;
    const ssize_t n = read(r_, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void ConsolePipe::close_write_ends() {
  for (int* fd : {&w_, &probe_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

std::vector<std::string> agent_argv(const std::string& config, std::vector<std::string> extra) {
  std::vector<std::string> argv{agent_path(), "--config", config, "--plugin-dir", plugin_dir()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

Outcome run_agent(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  TempDir dir;
  std::vector<std::string> argv{agent_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess child(argv, dir);
  Outcome o;
  const auto code = child.wait(timeout);
  o.exit_code = code.value_or(-1);
  o.out = child.out();
  o.err = child.err();
  return o;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::vector<Captured> read_captured(const std::string& path) {
  // Format, one event a line: source \t pid \t hex(comm) \t ns [\t key=value]...
  std::vector<Captured> out;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string x;
    while (std::getline(fields, x, '\t')) f.push_back(x);
    if (f.size() < 4) continue;
    Captured c;
    c.probe_source = f[0];
    c.guest_pid = static_cast<uint32_t>(std::stoul(f[1]));
    for (size_t i = 0; i + 1 < f[2].size(); i += 2) {
      c.guest_comm.push_back(static_cast<char>(std::stoi(f[2].substr(i, 2), nullptr, 16)));
    }
    c.guest_monotonic_ns = std::stoull(f[3]);
    for (size_t i = 4; i < f.size(); ++i) {
      const auto eq = f[i].find('=');
      if (eq == std::string::npos) continue;
      const std::string key = f[i].substr(0, eq), value = f[i].substr(eq + 1);
      c.typed_extras[key] = value;
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
        c.extras[key] = std::stoull(value);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::map<std::string, std::string>> parse_json_lines(const std::string& text) {
  std::vector<std::map<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t i = 0;
    const auto skip_ws = [&] {
      while (i < line.size() && line[i] == ' ') ++i;
    };
    const auto parse_string = [&](std::string& s) {
      if (i >= line.size() || line[i] != '"') return false;
      ++i;
      while (i < line.size() && line[i] != '"') {
        char c = line[i++];
        if (c == '\\' && i < line.size()) {
          const char e = line[i++];
          if (e == 'n') {
            c = '\n';
          } else if (e == 't') {
            c = '\t';
          } else if (e == 'r') {
            c = '\r';
          } else if (e == 'b') {
            c = '\b';
          } else if (e == 'f') {
            c = '\f';
          } else if (e == 'u' && i + 4 <= line.size()) {
            const unsigned cp = std::stoul(line.substr(i, 4), nullptr, 16);
            i += 4;
            if (cp < 0x80) {
              s.push_back(static_cast<char>(cp));
            } else if (cp < 0x800) {
              s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
              s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            } else {
              s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
              s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
              s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
            }
            continue;
          } else {
            c = e;
          }
        }
        s.push_back(c);
      }
      if (i >= line.size()) return false;
      ++i;
      return true;
    };
    std::map<std::string, std::string> obj;
    bool ok = !line.empty() && line[0] == '{';
    i = 1;
    while (ok) {
      skip_ws();
      if (i < line.size() && line[i] == '}') break;
      std::string k, v;
      ok = parse_string(k);
      skip_ws();
      ok = ok && i < line.size() && line[i++] == ':';
      skip_ws();
      if (ok && i < line.size() && line[i] == '"') {
        ok = parse_string(v);
      } else {
        while (ok && i < line.size() && line[i] != ',' && line[i] != '}') v.push_back(line[i++]);
      }
      if (ok) obj[k] = v;
      skip_ws();
      if (i < line.size() && line[i] == ',') ++i;
    }
    if (ok && !obj.empty()) out.push_back(std::move(obj));
  }
  return out;
}

pid_t spawn_named(const std::string& comm, const std::string& go_file) {
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_NAME, comm.c_str());
    if (!go_file.empty()) {
      for (int i = 0; i < 3000 && access(go_file.c_str(), F_OK) != 0; ++i) usleep(10000);
    }
    _exit(0);
  }
  return pid;
}

int wait_pid(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int listen_unix(const std::string& path, int backlog) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, path.c_str(), sizeof un.sun_path - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 ||
      listen(fd, backlog) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

bool is_agent_log_line(std::string_view line) {
  for (const std::string_view level : {"info: ", "warning: ", "error: "}) {
    if (line.starts_with(std::string("cellos-telemetry: ").append(level))) return true;
  }
  return false;
}

std::optional<uint64_t> number_after(std::string_view line, std::string_view prefix) {
  if (!line.starts_with(prefix) || line.size() == prefix.size()) return std::nullopt;
  uint64_t n = 0;
  for (const char c : line.substr(prefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

}  // namespace cellos::telemetry::testing
