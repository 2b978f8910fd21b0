// hello-probe's unit test, without the agent: the SDK's mock host records what the probe does.
// Plain asserts and an exit code, so the example needs no test framework; the same calls work in
// GoogleTest or Catch2. Run with ctest (the path of the built probe is compiled in).
#include <unistd.h>
#include <cellos/telemetry/testing/mock_host.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace ctest = cellos::telemetry::testing;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

}  // namespace

int main() {
  ctest::PluginUnderTest plugin(HELLO_PROBE_SO);
  expect(std::string(plugin.descriptor().name) == "hello", "the descriptor's name");

  {
    ctest::MockHost host("probes.hello[0]");
    auto probe = plugin.create(host, {{"interval_ms", int64_t{250}}});
    probe->start();
    expect(host.timer_first_ns == 250000000 && host.timer_interval_ns == 250000000,
           "start arms the timer every interval_ms");
    probe->on_timer();
    probe->on_timer();
    expect(host.events.size() == 2, "one event per timer expiry");
    for (size_t k = 0; k < host.events.size(); ++k) {
      const ctest::RecordedEvent& e = host.events[k];
      expect(e.probe_source == "hello.greeting", "probe_source");
      expect(e.guest_pid == static_cast<uint32_t>(getpid()), "the agent's own pid");
      expect(e.guest_comm == "hello", "the default greeting as comm");
      const ctest::RecordedValue* count = e.extra("count");
      expect(count && count->type == CT_VALUE_UINT && count->u == k + 1, "count is 1, 2, ...");
      const ctest::RecordedValue* first = e.extra("first");
      expect(first && first->type == CT_VALUE_BOOL && first->b == (k == 0), "first only once");
    }
    expect(host.events[0].guest_monotonic_ns <= host.events[1].guest_monotonic_ns,
           "timestamps do not go back");
    probe->stop();
    expect(!host.timer_armed(), "stop disarms the timer");
  }

  {
    ctest::MockHost host;
    try {
      plugin.create(host, {{"greeting", std::string("sixteen bytes!!!")}});
      expect(false, "a 16-byte greeting is refused");
    } catch (const std::runtime_error& e) {
      expect(
          std::string(e.what()).find("greeting must be 1 to 15 bytes, not 16") != std::string::npos,
          std::string("the error names the rule: ") + e.what());
    }
  }

  std::printf("%s\n", failures == 0 ? "PASS" : "FAIL");
  return failures == 0 ? 0 : 1;
}
