// The decoder's cost per frame and per byte for a plain frame and for frames of many tiny
// extras (the shape of a hostile 4 KiB body), so that a cost growing faster than the body shows.
// Usage: cellos-telemetry-recv-bench-decode [ITERATIONS]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frame_decoder.hpp"

namespace wire = cellos::telemetry::wire;

namespace {

struct Body {
  std::vector<uint8_t> b;
  void head(int major, uint64_t v) {
    const auto m = static_cast<uint8_t>(major << 5);
    if (v < 24) {
      b.push_back(static_cast<uint8_t>(m | v));
    } else if (v <= 0xFF) {
      b.insert(b.end(), {static_cast<uint8_t>(m | 24), static_cast<uint8_t>(v)});
    } else {
      b.insert(b.end(), {static_cast<uint8_t>(m | 25), static_cast<uint8_t>(v >> 8),
                         static_cast<uint8_t>(v)});
    }
  }
  void text(const std::string& s) {
    head(3, s.size());
    b.insert(b.end(), s.begin(), s.end());
  }
};

// The five keys and `extras` extras with the shortest distinct keys there are.
std::vector<uint8_t> body_with(size_t extras) {
  Body x;
  x.head(5, 5 + extras);
  x.text("content_version");
  x.head(0, 0x0101);
  x.text("probe_source");
  x.text("process.spawned");
  x.text("guest_pid");
  x.head(0, 42);
  x.text("guest_comm");
  x.text("sh");
  x.text("guest_monotonic_ns");
  x.head(0, 123);
  for (size_t i = 0; i < extras; ++i) {
    std::string key;
    for (size_t n = i; key.empty() || n > 0; n /= 52) {
      key += "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 52];
    }
    x.text(key);
    x.head(0, i % 24);
  }
  return x.b;
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 2000;
  std::printf("%8s %8s %10s %12s %8s\n", "extras", "bytes", "us/frame", "ns/byte", "result");
  for (const size_t extras : {0ul, 16ul, 64ul, 128ul, 256ul, 512ul, 995ul}) {
    const auto body = body_with(extras);
    std::string error;
    bool ok = false;
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; ++i) {
      ok = wire::decode_body(body, &error).has_value();
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_frame = s / static_cast<double>(iterations);
    std::printf("%8zu %8zu %10.2f %12.2f %8s\n", extras, body.size(), per_frame * 1e6,
                per_frame * 1e9 / static_cast<double>(body.size()), ok ? "ok" : "refused");
  }
  return 0;
}
