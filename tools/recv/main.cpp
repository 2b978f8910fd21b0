// cellos-telemetry-recv: the host side of the agent's wire, for operators and tests.
// Exit codes (sysexits.h): 0 stopped by SIGINT/SIGTERM, 64 bad command line, 71 cannot
// listen, 74 cannot write the output, 75 stopped by a signal while stdout was blocked.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "receiver.hpp"
#include "socket_address.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitOsErr = 71;
constexpr int kExitIoErr = 74;
constexpr int kExitTempFail = 75;
constexpr long kMaxIdleTimeoutS = 86400;

const char* const kUsage =
    "Usage: cellos-telemetry-recv --listen ADDRESS [--listen ADDRESS...] [--idle-timeout-s N]\n"
    "\n"
    "Receives the frames of cellos-telemetry agents and prints each as one JSON line on\n"
    "stdout, keys as on the wire. Connections and malformed frames are reported on stderr;\n"
    "a malformed frame closes only its own connection.\n"
    "\n"
    "ADDRESS:\n"
    "  unix:PATH    a Unix socket, e.g. Firecracker's <vsock_uds_path>_9001 for guest port 9001\n"
    "  vsock:PORT   an AF_VSOCK port on any local CID\n"
    "\n"
    "--idle-timeout-s N  close a connection that sends nothing for N seconds (default 30: six\n"
    "                    missed heartbeats at the agent's default 5 s; 0: never; at most 86400)\n"
    "\n"
    "While stdout is not read, frames are left in the sockets (nothing is lost) and signals\n"
    "are still served. SIGINT or SIGTERM prints frames, bytes, rejected and connections on\n"
    "stderr and exits.\n"
    "Exit codes: 0 stopped by a signal, 64 bad command line, 71 cannot listen, 74 cannot write\n"
    "the output, 75 stopped by a signal while stdout was blocked.\n";

long parse_idle_timeout(const std::string& text) {
  size_t end = 0;
  long v = -1;
  try {
    v = std::stol(text, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != text.size() || v < 0 || v > kMaxIdleTimeoutS) {
    throw std::invalid_argument("--idle-timeout-s: '" + text +
                                "' is not a number of seconds from 0 to " +
                                std::to_string(kMaxIdleTimeoutS));
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<cellos::telemetry::wire::SocketAddress> addresses;
  cellos::telemetry::recv::Receiver::Options options;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << kUsage;
        return 0;
      }
      if (arg == "--listen" && i + 1 < argc) {
        addresses.push_back(cellos::telemetry::wire::parse_listen_address(argv[++i]));
      } else if (arg.starts_with("--listen=")) {
        addresses.push_back(cellos::telemetry::wire::parse_listen_address(arg.substr(9)));
      } else if (arg == "--idle-timeout-s" && i + 1 < argc) {
        options.idle_timeout = std::chrono::seconds(parse_idle_timeout(argv[++i]));
      } else if (arg.starts_with("--idle-timeout-s=")) {
        options.idle_timeout = std::chrono::seconds(parse_idle_timeout(arg.substr(17)));
      } else {
        throw std::invalid_argument("unknown or incomplete argument '" + arg + "'");
      }
    }
    if (addresses.empty()) throw std::invalid_argument("--listen is required");
  } catch (const std::invalid_argument& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  }

  std::optional<cellos::telemetry::recv::Receiver> receiver;
  try {
    receiver.emplace(STDOUT_FILENO, STDERR_FILENO, options);
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    return kExitIoErr;
  }
  try {
    for (const auto& a : addresses) receiver->listen_on(a);
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    return kExitOsErr;
  }
  int code = 0;
  try {
    receiver->run();
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    code = kExitIoErr;
  }
  if (code == 0 && receiver->output_blocked()) {
    // Nothing is lost: what was not printed was not consumed, and agents send it again.
    std::cerr << "cellos-telemetry-recv: stdout blocked at exit: "
              << (receiver->line_cut_short() ? "1 line" : "0 lines")
              << " cut short; frames not printed were left in their sockets\n";
    code = kExitTempFail;
  }
  const auto& s = receiver->stats();
  std::cerr << "cellos-telemetry-recv: frames " << s.frames << ", bytes " << s.bytes
            << ", rejected " << s.rejected << ", connections " << s.connections << "\n";
  return code;
}
