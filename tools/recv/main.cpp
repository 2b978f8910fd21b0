// cellos-telemetry-recv: the host side of the agent's wire, for operators and tests.
// Exit codes (sysexits.h): 0 stopped by SIGINT/SIGTERM, 64 bad command line, 71 cannot
// listen, 74 cannot write the output.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "receiver.hpp"
#include "socket_address.hpp"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitOsErr = 71;
constexpr int kExitIoErr = 74;

const char* const kUsage =
    "Usage: cellos-telemetry-recv --listen ADDRESS [--listen ADDRESS...]\n"
    "\n"
    "Receives the frames of cellos-telemetry agents and prints each as one JSON line on\n"
    "stdout, keys as on the wire. Connections and malformed frames are reported on stderr;\n"
    "a malformed frame closes only its own connection.\n"
    "\n"
    "ADDRESS:\n"
    "  unix:PATH    a Unix socket, e.g. Firecracker's <vsock_uds_path>_9001 for guest port 9001\n"
    "  vsock:PORT   an AF_VSOCK port on any local CID\n"
    "\n"
    "SIGINT or SIGTERM prints frames, bytes, rejected and connections on stderr and exits 0.\n"
    "Exit codes: 0 stopped by a signal, 64 bad command line, 71 cannot listen, 74 cannot write\n"
    "the output.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<cellos::telemetry::wire::SocketAddress> addresses;
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
      } else {
        throw std::invalid_argument("unknown or incomplete argument '" + arg + "'");
      }
    }
    if (addresses.empty()) throw std::invalid_argument("--listen is required");
  } catch (const std::invalid_argument& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n\n" << kUsage;
    return kExitUsage;
  }

  cellos::telemetry::recv::Receiver receiver(STDOUT_FILENO, STDERR_FILENO);
  try {
    for (const auto& a : addresses) receiver.listen_on(a);
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    return kExitOsErr;
  }
  int code = 0;
  try {
    receiver.run();
  } catch (const std::runtime_error& e) {
    std::cerr << "cellos-telemetry-recv: " << e.what() << "\n";
    code = kExitIoErr;
  }
  const auto& s = receiver.stats();
  std::cerr << "cellos-telemetry-recv: frames " << s.frames << ", bytes " << s.bytes
            << ", rejected " << s.rejected << ", connections " << s.connections << "\n";
  return code;
}
