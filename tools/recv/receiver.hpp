// The host side of the wire: listens, accepts any number of connections, decodes every frame
// strictly and prints it as a JSON line. One thread, one epoll set, non-blocking sockets.
//
// Frames are read at least once: bytes are peeked, their frames printed and written out, and
// only then taken off the socket. A receiver killed at any point has consumed nothing it did
// not print, so the agent (which keeps frames until they are consumed) sends the rest again.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "socket_address.hpp"

namespace cellos::telemetry::recv {

class Receiver {
 public:
  struct Stats {
    uint64_t frames = 0;       // printed
    uint64_t bytes = 0;        // of printed frames, length prefixes included
    uint64_t rejected = 0;     // malformed frames (each closed its connection)
    uint64_t connections = 0;  // accepted
  };

  // JSON lines go to out_fd, diagnostics to err_fd. Blocks SIGINT and SIGTERM for its
  // signalfd (call before starting threads).
  Receiver(int out_fd, int err_fd);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Binds and listens; a stale Unix socket file at the path is replaced. Throws
  // std::runtime_error saying why it cannot.
  void listen_on(const wire::SocketAddress& address);
  // Serves until SIGINT or SIGTERM. Throws std::runtime_error if stdout cannot be written.
  void run();
  const Stats& stats() const { return stats_; }

 private:
  struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::string peer;
  };
  struct Listener {
    int fd = -1;
    std::string unix_path;  // removed at exit
    std::string text;
  };

  void accept_all(const Listener& l);
  void serve(Connection& c, uint32_t events);
  void close_connection(int fd, const std::string& why);
  void write_out(const std::string& s);
  void say(const std::string& line) const;

  int out_fd_, err_fd_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  std::vector<Listener> listeners_;
  std::unordered_map<int, Connection> connections_;
  std::vector<uint8_t> buffer_;
  Stats stats_;
};

}  // namespace cellos::telemetry::recv
