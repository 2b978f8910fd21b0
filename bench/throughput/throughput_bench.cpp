// cellos-telemetry-bench-throughput: events per second through the wire path, on one core.
//
//   1. the encoder alone: encode_frame into memory;
//   2. encoder + framing + write(2) into a Unix socket, without the core;
//   3. the real agent: scripted probe -> bus -> per-sink queue -> vsock sink (unix: address)
//      -> Unix socket, the agent pinned to one CPU.
// In 2 and 3 a reader thread on another CPU only walks the length prefixes to count frames
// and bytes (and decodes the rare telemetry.dropped report to count what the core dropped).
// The figure that matters is events per CPU-second of the writing side: the core's and the
// sink's cost per event, whatever else the machine does. Prints a Markdown table.
//
// Usage: cellos-telemetry-bench-throughput [--seconds N] [--bursts B1,B2,...] [--agent PATH]
//                                           [--plugin-dir DIR] [--fixture-dir DIR]
// --agent, --plugin-dir and --fixture-dir run another build's agent, plugins and scripted
// probe (a copy of the build before a change), so both can be measured in the same rounds.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "frame_counter.hpp"
#include "frame_encoder.hpp"

namespace wire = cellos::telemetry::wire;
using cellos::telemetry::bench::FrameCounter;

namespace {

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);  // best effort: a 1-CPU machine still runs
}

// What the agent rows run: this build's, unless the command line names another.
struct AgentBuild {
  std::string agent = CT_BENCH_AGENT;
  std::string plugin_dir = CT_BENCH_PLUGIN_DIR;
  std::string fixture_dir = CT_BENCH_FIXTURE_DIR;
};

struct Row {
  std::string stage;
  uint64_t events = 0;
  double wall_s = 0, cpu_s = 0;
  double bytes_per_frame = 0;
  uint64_t dropped = 0;
};

// Reads fd until EOF on CPU 1, counting.
std::thread start_reader(int fd, FrameCounter& counter) {
  return std::thread([fd, &counter] {
    pin_to_cpu(1);
    std::vector<uint8_t> buf(1 << 20);
    ssize_t n;
    while ((n = read(fd, buf.data(), buf.size())) > 0)
      counter.feed(buf.data(), static_cast<size_t>(n));
  });
}

ct_event event_for(uint32_t seq, uint64_t ns) {
  return ct_event{sizeof(ct_event), "process.spawned", seq, "worker", ns, nullptr, 0};
}

Row encoder_alone(uint64_t n) {
  pin_to_cpu(0);
  std::vector<uint8_t> buf(1 << 22);
  size_t at = 0;
  uint64_t bytes = 0;
  const uint64_t ns0 = clock_ns(CLOCK_MONOTONIC_RAW);
  const uint64_t wall0 = clock_ns(CLOCK_MONOTONIC), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  for (uint64_t i = 0; i < n; ++i) {
    if (buf.size() - at < wire::kMaxFrameBytes) at = 0;
    const size_t size = wire::encode_frame(event_for(static_cast<uint32_t>(i + 1), ns0 + i * 997),
                                           std::span(buf).subspan(at));
    at += size;
    bytes += size;
  }
  Row r{"encoder alone (encode_frame into memory)", n};
  r.wall_s = static_cast<double>(clock_ns(CLOCK_MONOTONIC) - wall0) / 1e9;
  r.cpu_s = static_cast<double>(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0) / 1e9;
  r.bytes_per_frame = static_cast<double>(bytes) / static_cast<double>(n);
  return r;
}

Row encoder_into_socket(uint64_t n) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::exit(1);
  FrameCounter counter;
  std::thread reader = start_reader(fds[1], counter);
  pin_to_cpu(0);
  std::vector<uint8_t> chunk(64 * 1024 + wire::kMaxFrameBytes);
  const uint64_t ns0 = clock_ns(CLOCK_MONOTONIC_RAW);
  const uint64_t wall0 = clock_ns(CLOCK_MONOTONIC), cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  size_t at = 0;
  const auto flush = [&] {
    for (size_t done = 0; done < at;) {
      const ssize_t w = write(fds[0], chunk.data() + done, at - done);
      if (w <= 0) std::exit(1);
      done += static_cast<size_t>(w);
    }
    at = 0;
  };
  for (uint64_t i = 0; i < n; ++i) {
    at += wire::encode_frame(event_for(static_cast<uint32_t>(i + 1), ns0 + i * 997),
                             std::span(chunk).subspan(at));
    if (at >= 64 * 1024) flush();
  }
  flush();
  const uint64_t cpu1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  close(fds[0]);
  reader.join();
  close(fds[1]);
  Row r{"encoder + framing + write(2) into a Unix socket (no core)", counter.events()};
  r.wall_s = static_cast<double>(clock_ns(CLOCK_MONOTONIC) - wall0) / 1e9;
  r.cpu_s = static_cast<double>(cpu1 - cpu0) / 1e9;
  r.bytes_per_frame = static_cast<double>(counter.bytes()) / static_cast<double>(counter.events());
  return r;
}

// CPU time of a single-threaded process, in ns (the first field of schedstat).
uint64_t process_cpu_ns(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  uint64_t ns = 0;
  in >> ns;
  return ns;
}

Row through_agent(const AgentBuild& build, int burst, double seconds) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("ct-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string socket_path = dir + "/host.sock_9001";
  const std::string config = dir + "/agent.toml";
  std::ofstream(config) << "[agent]\nheartbeat_interval_ms = 5000\n\n"
                        << "[[probes.scripted]]\nevents = ['process.spawned seq worker']\n"
                        << "interval_ms = 1\nburst = " << burst << "\n\n"
                        << "[[sinks.vsock]]\naddress = \"unix:" << socket_path << "\"\n";

  const int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::strncpy(un.sun_path, socket_path.c_str(), sizeof un.sun_path - 1);
  if (bind(listener, reinterpret_cast<sockaddr*>(&un), sizeof un) != 0 ||
      listen(listener, 1) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  const pid_t agent = fork();
  if (agent == 0) {
    pin_to_cpu(0);
    const int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    execl(build.agent.c_str(), build.agent.c_str(), "--config", config.c_str(), "--plugin-dir",
          build.plugin_dir.c_str(), "--plugin-dir", build.fixture_dir.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  const int conn = accept(listener, nullptr, nullptr);
  FrameCounter counter;
  std::thread reader = start_reader(conn, counter);

  // Warm up, then measure a steady window.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t e0 = counter.events(), b0 = counter.bytes(), d0 = counter.dropped();
  const uint64_t cpu0 = process_cpu_ns(agent), wall0 = clock_ns(CLOCK_MONOTONIC);
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(seconds * 1000)));
  const uint64_t e1 = counter.events(), b1 = counter.bytes(), d1 = counter.dropped();
  const uint64_t cpu1 = process_cpu_ns(agent), wall1 = clock_ns(CLOCK_MONOTONIC);

  kill(agent, SIGTERM);
  waitpid(agent, nullptr, 0);
  reader.join();
  close(conn);
  close(listener);
  std::filesystem::remove_all(dir);

  Row r{"agent: scripted probe (burst " + std::to_string(burst) +
            "/ms) -> bus -> queue -> vsock sink -> Unix socket",
        e1 - e0};
  r.wall_s = static_cast<double>(wall1 - wall0) / 1e9;
  r.cpu_s = static_cast<double>(cpu1 - cpu0) / 1e9;
  r.bytes_per_frame = static_cast<double>(b1 - b0) / static_cast<double>(e1 - e0 ? e1 - e0 : 1);
  r.dropped = d1 - d0;
  return r;
}

void print(const Row& r) {
  std::printf("| %s | %llu | %.2f | %.0f | %.2f | %.0f | %.1f | %llu |\n", r.stage.c_str(),
              static_cast<unsigned long long>(r.events), r.wall_s,
              static_cast<double>(r.events) / r.wall_s, r.cpu_s,
              static_cast<double>(r.events) / r.cpu_s, r.bytes_per_frame,
              static_cast<unsigned long long>(r.dropped));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  std::vector<int> bursts = {250, 1000, 4000};
  AgentBuild build;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    } else if (flag == "--bursts") {
      bursts.clear();
      std::stringstream list(argv[i + 1]);
      std::string item;
      while (std::getline(list, item, ',')) bursts.push_back(std::atoi(item.c_str()));
    } else if (flag == "--agent") {
      build.agent = argv[i + 1];
    } else if (flag == "--plugin-dir") {
      build.plugin_dir = argv[i + 1];
    } else if (flag == "--fixture-dir") {
      build.fixture_dir = argv[i + 1];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--seconds N] [--bursts B1,B2,...] [--agent PATH] "
                   "[--plugin-dir DIR] [--fixture-dir DIR]\n",
                   argv[0]);
      return 64;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  std::printf(
      "| stage | events | wall s | events/s (wall) | CPU s (writer) | events per CPU-second "
      "| bytes/frame | dropped by the core |\n|---|---|---|---|---|---|---|---|\n");
  print(encoder_alone(10000000));
  print(encoder_into_socket(10000000));
  if (!std::filesystem::exists(build.fixture_dir + "/probe-scripted.so")) {
    std::printf("(agent rows skipped: the scripted probe fixture is built with the tests)\n");
    return 0;
  }
  for (const int burst : bursts) print(through_agent(build, burst, seconds));
  return 0;
}
