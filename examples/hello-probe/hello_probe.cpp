// hello: the smallest useful probe, built outside the cellos-telemetry tree against the installed
// SDK. Every interval_ms it emits one `hello.greeting` event about the agent's own process, with
// the configured greeting where a process probe puts the process name, and two typed extras:
// `count` (1, 2, ...) and `first` (true once).
#include <unistd.h>
#include <cellos/telemetry/clock.hpp>
#include <cellos/telemetry/sdk.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace {

namespace ctt = cellos::telemetry;

// The wire carries a process name of at most ctt::kCommMaxBytes (15, the kernel's comm), and the
// agent disables a probe that emits a longer one. Checking in the constructor turns a bad greeting
// into a config error at start-up, naming the file and the instance, instead of a probe that dies
// later.

class HelloProbe : public ctt::Probe {
 public:
  // Every probe_source it emits: the agent disables a probe that emits a name not listed here,
  // and --help lists them for operators writing `match` globs.
  static constexpr const char* emits[] = {"hello.greeting", nullptr};

  // The options arrive validated (type, range) with defaults filled in; only the rule the table
  // cannot express is checked here. Throwing is how a plugin reports an error: the SDK turns it
  // into the message the agent prints.
  HelloProbe(ctt::Host host, const ctt::Options& opts)
      : host_(host),
        interval_ns_(static_cast<uint64_t>(opts.get_int("interval_ms")) * 1000000u),
        greeting_(opts.get_string("greeting")),
        pid_(static_cast<uint32_t>(getpid())) {
    if (greeting_.empty() || greeting_.size() > ctt::kCommMaxBytes) {
      throw std::invalid_argument("greeting must be 1 to " + std::to_string(ctt::kCommMaxBytes) +
                                  " bytes, not " + std::to_string(greeting_.size()));
    }
  }

  // No thread and no sleep: the agent's single event loop calls on_timer when the timer it owns
  // for this instance expires, and every call must return at once.
  void start() override { host_.arm_timer(interval_ns_, interval_ns_); }
  void stop() override { host_.arm_timer(0, 0); }
  void on_timer() override {
    // The builder keeps copies until emit, and emit copies the event: nothing needs to outlive
    // the call. Reusing one builder keeps its memory from one event to the next.
    ++count_;
    event_.reset("hello.greeting", pid_, greeting_, ctt::monotonic_ns())
        .u("count", count_)
        .b("first", count_ == 1);
    host_.emit(event_);
  }

 private:
  ctt::Host host_;
  uint64_t interval_ns_;
  std::string greeting_;
  uint32_t pid_;
  uint64_t count_ = 0;
  ctt::EventBuilder event_;
};

// Declared, not parsed: the agent validates [[probes.hello]] against this table and prints it in
// --help; `cellos-telemetry --options-markdown probe-hello.so` writes the README's table.
constexpr ct_option_spec kOptions[] = {
    ctt::int_option("interval_ms", "how often to greet", 1000, 1, 3600000),
    ctt::string_option("greeting", "sent as guest_comm: 1 to 15 bytes, like a process name",
                       "hello"),
};

}  // namespace

CELLOS_TELEMETRY_PROBE(HelloProbe, "hello", "0.1.0",
                       "a greeting every interval_ms (the SDK's example probe)", kOptions)
