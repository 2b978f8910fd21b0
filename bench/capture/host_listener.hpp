// The host side of the agent's vsock sink in the benchmark: a Unix socket listener in a temp dir
// that reads frames on a thread of its own as they come, decodes them with the wire library's
// strict decoder and keeps what the scoring needs. Rejected frames are counted, not fatal.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "report.hpp"

namespace capture_bench {

class HostListener {
 public:
  explicit HostListener(const std::string& path);  // listening when it returns
  ~HostListener();                                 // stops the thread, closes the sockets
  HostListener(const HostListener&) = delete;
  HostListener& operator=(const HostListener&) = delete;

  std::string address() const { return "unix:" + path_; }
  std::vector<CapturedEvent> events() const;
  bool saw(const std::string& source, uint32_t pid) const;
  size_t rejected() const { return rejected_; }

 private:
  void run();
  void take(const std::vector<uint8_t>& frame);

  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> rejected_{0};
  mutable std::mutex mu_;
  std::vector<CapturedEvent> events_;
  std::thread thread_;
};

}  // namespace capture_bench
