// cellos-telemetry-recv: the host side of the agent's wire, for operators and tests.
// Exit codes (sysexits.h): 0 stopped by SIGINT/SIGTERM, 64 bad command line, 71 cannot
// listen or watch, 74 cannot write the output, 75 stopped by a signal while stdout was blocked.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "receiver.hpp"
#include "vm_label.hpp"

namespace {

namespace recv = cellos::telemetry::recv;

constexpr int kExitUsage = 64;
constexpr int kExitOsErr = 71;
constexpr int kExitIoErr = 74;
constexpr int kExitTempFail = 75;
constexpr uint64_t kMaxIdleTimeoutS = 86400;

const char* const kUsage =
    "Usage: cellos-telemetry-recv [--listen [LABEL=]ADDRESS]... [--watch DIR [--port N]]\n"
    "                             [--out-dir DIR [--rotate-bytes N] [--rotate-keep N]]\n"
    "                             [--dedupe] [--idle-timeout-s N]\n"
    "\n"
    "Receives the frames of cellos-telemetry agents and prints each as one JSON line on\n"
    "stdout (or in one file per VM), keys as on the wire after \"vm\" and \"stream_id\".\n"
    "Connections, malformed frames, seq gaps and duplicates are reported on stderr; a\n"
    "malformed frame closes only its own connection.\n"
    "\n"
    "ADDRESS:\n"
    "  unix:PATH    a Unix socket, e.g. Firecracker's <vsock_uds_path>_9001 for guest port 9001\n"
    "  vsock:PORT   an AF_VSOCK port on any local CID\n"
    "LABEL names the VM on every line (\"vm\"): 1 to 64 of A-Z a-z 0-9 . _ -. Default: from\n"
    "the path (vm42 for /run/fc/vm42.vsock_9001); for vsock, the peer's CID (cid3).\n"
    "\n"
    "--watch DIR         listen on <socket>_PORT for each Firecracker vsock socket in DIR,\n"
    "                    now and as VMs start; stop and remove it when the VM's socket goes\n"
    "--port N            the guest port Firecracker forwards (default 9001)\n"
    "--out-dir DIR       one JSON-lines file per VM, DIR/LABEL.jsonl, instead of stdout\n"
    "--rotate-bytes N    rename it to LABEL.jsonl.1 (and so on) before it passes N bytes\n"
    "                    (default 16777216; at least 65536)\n"
    "--rotate-keep N     rotated files kept per VM (default 4; 0 to 1000)\n"
    "--dedupe            drop frames whose seq was already written (sent again after a\n"
    "                    receiver restart); with --out-dir, across restarts too\n"
    "--idle-timeout-s N  close a connection that sends nothing for N seconds (default 30: six\n"
    "                    missed heartbeats at the agent's default 5 s; 0: never; at most 86400)\n"
    "\n"
    "While stdout is not read, frames are left in the sockets (nothing is lost) and signals\n"
    "are still served. SIGUSR1 prints the summary (frames, streams, gaps, duplicates) on\n"
    "stderr; SIGINT or SIGTERM prints it and exits.\n"
    "Exit codes: 0 stopped by a signal, 64 bad command line, 71 cannot listen or watch, 74\n"
    "cannot write the output, 75 stopped by a signal while stdout was blocked.\n";

uint64_t parse_number(const std::string& option, const std::string& text, uint64_t min,
                      uint64_t max, const char* unit) {
  size_t end = 0;
  uint64_t v = 0;
  try {
    if (!text.empty() && text[0] != '-') v = std::stoull(text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != text.size() || v < min || v > max) {
    throw std::invalid_argument(option + ": '" + text + "' is not a number of " + unit + " from " +
                                std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

// The directory exists (it is created if its parent does) and we may write in it.
void check_out_dir(const std::string& dir) {
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0 && (errno != ENOENT || mkdir(dir.c_str(), 0750) != 0)) {
    throw std::runtime_error("--out-dir " + dir + ": " + std::strerror(errno));
  }
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error("--out-dir " + dir + ": not a directory");
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    throw std::runtime_error("--out-dir " + dir + ": " + std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<recv::ListenSpec> listens;
  std::optional<std::string> watch_dir;
  std::optional<uint32_t> port;
  recv::Receiver::Options options;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      std::optional<std::string> value;
      if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
        value = arg.substr(arg.find('=') + 1);
        arg.resize(arg.find('='));
      }
      const auto take = [&]() -> std::string {
        if (value) return *value;
        if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (arg == "--listen") {
        listens.push_back(recv::parse_listen_spec(take()));
      } else if (arg == "--watch") {
        watch_dir = take();
      } else if (arg == "--port") {
        port = static_cast<uint32_t>(parse_number(arg, take(), 1, 4294967294u, "port"));
      } else if (arg == "--out-dir") {
        options.out_dir = take();
      } else if (arg == "--rotate-bytes") {
        options.rotate_bytes = parse_number(arg, take(), 65536, UINT64_MAX / 2, "bytes");
      } else if (arg == "--rotate-keep") {
        options.rotate_keep = static_cast<unsigned>(parse_number(arg, take(), 0, 1000, "files"));
      } else if (arg == "--dedupe" && !value) {
        options.dedupe = true;
      } else if (arg == "--idle-timeout-s") {
        options.idle_timeout =
            std::chrono::seconds(parse_number(arg, take(), 0, kMaxIdleTimeoutS, "seconds"));
      } else {
        throw std::invalid_argument("unknown or incomplete argument '" + std::string(argv[i]) +
                                    "'");
      }
    }
    if (listens.empty() && !watch_dir)
      throw std::invalid_argument("--listen or --watch is required");
    if (port && !watch_dir) throw std::invalid_argument("--port is for --watch");
  } catch (const std::invalid_argument& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  }

  std::optional<recv::Receiver> receiver;
  try {
    int out_fd = STDOUT_FILENO;
    if (!options.out_dir.empty()) {
      check_out_dir(options.out_dir);
      // Lines go to the files; stdout may be closed (a daemon's) and is not needed.
      out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (out_fd < 0) throw std::runtime_error(std::string("/dev/null: ") + std::strerror(errno));
    }
    receiver.emplace(out_fd, STDERR_FILENO, options);
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    return kExitIoErr;
  }
  try {
    for (const auto& l : listens) receiver->listen_on(l);
    if (watch_dir) receiver->watch(*watch_dir, port.value_or(9001));
  } catch (const std::invalid_argument& e) {
    receiver->say(e.what());
    receiver->flush_stderr();
    return kExitUsage;
  } catch (const std::runtime_error& e) {
    receiver->say(e.what());
    receiver->flush_stderr();
    return kExitOsErr;
  }
  int code = 0;
  try {
    receiver->run();
  } catch (const std::runtime_error& e) {
    receiver->say(e.what());
    code = kExitIoErr;
  }
  if (code == 0 && receiver->output_blocked()) {
    // Nothing is lost: what was not printed was not consumed, and agents send it again.
    receiver->say(std::string("stdout blocked at exit: ") +
                  (receiver->line_cut_short() ? "1 line" : "0 lines") +
                  " cut short; frames not printed were left in their sockets");
    code = kExitTempFail;
  }
  receiver->print_summary();
  receiver->flush_stderr();
  return code;
}
