// The host side of the wire: listens, accepts any number of connections, decodes every frame
// strictly and prints it as a JSON line. One thread, one epoll set, non-blocking sockets and a
// non-blocking stdout (output.hpp).
//
// Frames are read at least once: bytes are peeked, their frames printed and written out, and
// only then taken off the socket. A receiver killed at any point has consumed nothing it did
// not print, so the agent (which keeps frames until they are consumed) sends the rest again.
//
// Hostile or unlucky surroundings, and what the receiver does about them:
// - stdout not read: the part of a line that did not fit is kept (its frame is consumed once
//   the line is complete), every peer with data is parked unread, and the loop waits for
//   EPOLLOUT while still accepting and serving signals. Frames stay in the sockets meanwhile.
// - the descriptor limit: the listeners leave the epoll set until a connection closes (or a
//   second passes), so a full limit never makes the loop spin; new peers wait in the backlog.
//   One line on stderr when an episode starts, one with its count when it ends.
// - silent peers: closed after the idle timeout (an agent sends at least a heartbeat every
//   few seconds), so idle connections cannot hold every descriptor for ever.
// - stderr not read: diagnostics wait in a bounded buffer or are dropped and counted
//   (err_writer.hpp); they never stop the loop.
//
// Many VMs (issue 15): every line says which VM (`vm`, the listener's label) and which stream
// (`stream_id`, from the connection's agent.hello); `seq` is tracked per stream (seq_tracker.hpp)
// and gaps and duplicates reported; --watch follows a directory of Firecracker sockets
// (dir_watch.hpp); --out-dir writes one file per VM (vm_file.hpp) instead of stdout.
//
// The seq accounting obeys the same rule as consumption: a frame counts as seen only once its
// line is written. What a batch did to the streams is undone when part of it was not written,
// and done again for the part that was.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dir_watch.hpp"
#include "err_writer.hpp"
#include "frame_decoder.hpp"
#include "idle_list.hpp"
#include "output.hpp"
#include "seq_tracker.hpp"
#include "socket_address.hpp"
#include "vm_file.hpp"
#include "vm_label.hpp"

namespace cellos::telemetry::recv {

class Receiver {
 public:
  struct Options {
    // Connections that receive nothing for this long are closed; 0: never.
    std::chrono::seconds idle_timeout{30};
    // One JSON-lines file per VM in this directory instead of stdout; empty: stdout.
    std::string out_dir;
    uint64_t rotate_bytes = 16 * 1024 * 1024;
    unsigned rotate_keep = 4;
    bool dedupe = false;  // drop frames whose seq was already written
  };
  struct Stats {
    uint64_t frames = 0;              // printed
    uint64_t bytes = 0;               // of printed frames, length prefixes included
    uint64_t rejected = 0;            // malformed frames (each closed its connection)
    uint64_t connections = 0;         // accepted
    uint64_t dropped_duplicates = 0;  // --dedupe: taken off the socket, not printed
  };

  // JSON lines go to out_fd, diagnostics to err_fd. Blocks SIGINT and SIGTERM for its
  // signalfd (call before starting threads).
  Receiver(int out_fd, int err_fd, Options options);
  ~Receiver();
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Binds and listens; a stale Unix socket file at the path is replaced. Throws
  // std::runtime_error saying why it cannot, std::invalid_argument for a label in use.
  void listen_on(const ListenSpec& spec);
  // Listens on <socket>_PORT for every VM socket in dir, now and as they come; stops and
  // removes it when the VM's socket goes. Throws std::runtime_error if dir cannot be watched.
  void watch(const std::string& dir, uint32_t port);
  // Serves until SIGINT or SIGTERM; SIGUSR1 prints the summary and goes on. Throws
  // std::runtime_error if the output cannot be written.
  void run();
  const Stats& stats() const { return stats_; }
  const SeqTracker& streams() const { return seq_; }
  // The totals line and one line per stream, on stderr.
  void print_summary();
  // A diagnostic line on stderr (never blocks), and one last try at what waits.
  void say(const std::string& line);
  void flush_stderr() { err_.flush(); }
  // After run(): whether stdout was still blocked when the signal came, and whether a line
  // was left cut short in it (its frame was not consumed, so the agent sends it again).
  bool output_blocked() const { return output_blocked_; }
  bool line_cut_short() const { return !pending_.empty(); }

 private:
  struct Connection {
    int fd = -1;
    uint64_t id = 0;
    std::string peer;
    std::string label;               // the VM
    std::optional<uint64_t> stream;  // from its agent.hello
    bool parked = false;             // has unread data, waits for stdout to drain
    uint32_t events = 0;             // what epoll said while it was parked
  };
  struct Listener {
    int fd = -1;
    std::string unix_path;  // removed at exit
    std::string text;
    std::string label;      // empty: by peer CID (vsock)
    std::string vm_socket;  // --watch: the VM socket it serves (a name in the directory)
  };
  // What a frame did to the seq accounting, kept until its line is written.
  struct Seen {
    enum What { kNone, kHello, kFrame };
    What what = kNone;
    uint64_t stream = 0;
    uint64_t seq = 0;  // kFrame: its seq; kHello: first_seq
    Verdict verdict;
  };
  // The frame whose line was cut by a short write: consumed once the line is complete.
  struct CutFrame {
    int fd = -1;
    uint64_t id = 0;
    size_t bytes = 0;
    Seen seen;
  };

  void accept_all(const Listener& l);
  void at_fd_limit(const Listener& l, int error);
  void set_listening(bool on);
  void serve(Connection& c, uint32_t events);
  void consume(int fd, size_t bytes);
  bool finish_cut_line();  // true once no line is left cut short
  void output_writable();
  void expire_idle();
  void close_connection(int fd, const std::string& why);
  void remove_listener(size_t index, const std::string& why);
  void watch_changed();
  void add_vm(const std::string& name);
  VmFile& file_for(const std::string& label);
  Seen account(Connection& c, const wire::Frame& frame);
  void apply(Connection& c, Seen& s);  // again, after an undo
  void report(const Connection& c, const std::vector<Seen>& seen, size_t count);
  void watch_stderr();

  Options options_;
  ErrWriter err_;
  bool err_watched_ = false;
  Output output_;
  int epoll_fd_ = -1;
  int signal_fd_ = -1;
  std::vector<Listener> listeners_;
  std::unordered_map<int, Connection> connections_;
  std::vector<uint8_t> buffer_;
  Stats stats_;
  IdleList idle_;
  SeqTracker seq_;
  std::map<std::string, std::unique_ptr<VmFile>> files_;  // --out-dir, by label
  std::unique_ptr<DirWatch> watch_;
  uint32_t watch_port_ = 0;

  // stdout is blocked: pending_ holds what is left of a cut line (maybe nothing, if the
  // write stopped between lines), and parked_ the connections to serve when it drains.
  bool output_blocked_ = false;
  std::string pending_;
  CutFrame cut_;
  std::deque<int> parked_;

  // The descriptor limit: listeners out of the epoll set until a connection closes.
  bool listening_ = true;
  bool at_limit_ = false;
  uint64_t limit_failures_ = 0;
  IdleList::Clock::time_point limit_since_{}, limit_retry_{};
};

}  // namespace cellos::telemetry::recv
