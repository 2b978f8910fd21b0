// The Firecracker vsock sockets in one directory, followed with inotify (no polling): each VM's
// <uds_path> appears when its Firecracker binds it and goes when the VM is gone. A VM socket is
// a socket file whose name does not end in _PORT (those are the paths we listen on for it).
//
// The watch is set before the directory is listed, so a socket created in between is seen
// (perhaps twice: the receiver keeps a set). A queue overflow (IN_Q_OVERFLOW) asks for a
// fresh listing, which the receiver reconciles with what it has.
#pragma once

#include <string>
#include <vector>

namespace cellos::telemetry::recv {

class DirWatch {
 public:
  struct Change {
    enum Kind { kAppeared, kGone, kRescan, kDirGone };
    Kind kind;
    std::string name;  // within the directory
  };

  // Throws std::runtime_error naming the directory.
  explicit DirWatch(std::string dir);
  ~DirWatch();
  DirWatch(const DirWatch&) = delete;
  DirWatch& operator=(const DirWatch&) = delete;

  const std::string& dir() const { return dir_; }
  int fd() const { return fd_; }  // readable when changes wait
  // The VM sockets in the directory now.
  std::vector<std::string> list() const;
  // Reads every change waiting, without blocking. kAppeared only for a VM socket; kGone for
  // any name without a port suffix (it may have been a VM socket).
  std::vector<Change> changes();

 private:
  bool vm_socket(const std::string& name) const;

  std::string dir_;
  int fd_ = -1;
};

}  // namespace cellos::telemetry::recv
