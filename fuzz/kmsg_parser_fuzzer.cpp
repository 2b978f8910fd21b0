// The kernel probe's parsing of /dev/kmsg, on any bytes: a kernel record holds whatever a
// process named itself or a driver printed (the kernel escapes it, but the parser does not rely
// on that). Every event it makes must pass the agent's event check (the one that disables a
// probe), and its frame must fit the wire's 4096 bytes whole, with nothing cut, and decode.
//
// Input: reads separated by NUL bytes (a read of the device never holds one), handled in order
// through one KernelEvents, so the OOM join, the sequence accounting and the rate limit see
// sequences of records; each read is also handed to every message parser as a bare message.
#include <cellos/telemetry/sdk.hpp>

#include <cstdlib>
#include <string_view>

#include "event.hpp"
#include "frame_decoder.hpp"
#include "frame_encoder.hpp"
#include "kernel_events.hpp"
#include "kernel_messages.hpp"
#include "kmsg_record.hpp"

namespace ct = cellos::telemetry;
namespace ck = cellos::telemetry::kernel;

namespace {

[[noreturn]] void fail() {
  std::abort();
}

void check(const ct::EventBuilder& b) {
  const ct_event& e = b.event();
  if (!ct::check_event(e).empty()) fail();
  const std::string frame = ct::wire::encode_frame(e);
  if (frame.empty() || frame.size() > 4 + 4096) fail();
  std::string error;
  const auto decoded = ct::wire::decode_body(
      {reinterpret_cast<const uint8_t*>(frame.data()) + 4, frame.size() - 4}, &error);
  if (!decoded || decoded->extras.size() != e.n_extras) fail();  // nothing cut
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ck::KernelEventsConfig config;
  config.min_level = 7;
  config.log_burst = 4;
  config.log_window_ns = 100;
  config.self_pid = 1;
  config.self_comm = "agent";
  ck::KernelEvents events(config, check);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  uint64_t now = 0;
  while (!input.empty()) {
    const size_t nul = input.find('\0');
    const std::string_view read = input.substr(0, nul);
    input.remove_prefix(nul == std::string_view::npos ? input.size() : nul + 1);
    ck::parse_segfault(read);
    ck::parse_trap(read);
    ck::parse_oom_victim(read);
    ck::parse_oom_context(read);
    ck::parse_hung_task(read);
    ck::parse_warning(read);
    if (ck::bounded_kmsg_text(read, 7).size() > 7) fail();
    if (const auto r = ck::parse_kmsg_record(read)) {
      if (r->dict.size() > ck::kMaxDictEntries) fail();
      events.handle(*r, now);
    } else if (read.size() % 3 == 0) {
      events.overwritten();
    }
    now += 40;
    if (const auto due = events.report_due(); due && *due <= now) events.report_suppressed(now);
  }
  return 0;
}
