// The path of a comm from the kernel to the host: the core's UTF-8 repair, then the vsock sink's
// encoder, then the receiver's strict decoder. Whatever bytes a process names itself with, the
// frame must decode, carry exactly the repaired text, and the two UTF-8 validators (the SDK's,
// used by the core and the sink, and the receiver's own) must agree on every input.
#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/text.hpp>

#include <cstdlib>
#include <cstring>
#include <span>

#include "frame_decoder.hpp"
#include "frame_encoder.hpp"

namespace ct = cellos::telemetry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  uint32_t pid = 0;
  uint64_t ns = 0;
  std::memcpy(&pid, data, 4);
  std::memcpy(&ns, data + 4, 8);
  std::string_view raw(reinterpret_cast<const char*>(data + 12), size - 12);
  // The boundary carries C strings, and a kernel comm never holds a NUL: stop at the first.
  raw = raw.substr(0, raw.find('\0'));

  const bool core_ok = ct::is_valid_utf8(raw);
  if (core_ok != ct::recv::valid_utf8(raw)) {
    std::abort();
  }
  const std::string comm = ct::repair_utf8(raw);
  if (!ct::is_valid_utf8(comm) || (core_ok && comm != raw)) std::abort();

  const ct_extra extra{"dropped_count", ns ^ pid};
  const ct_event e{"process.spawned", pid, comm.c_str(), ns, &extra, (pid & 1) ? 1u : 0u};
  const std::string frame = ct::wire::encode_frame(e);
  if (frame.empty()) {
    if (comm.size() < 3900) std::abort();  // only an oversized body may be refused
    return 0;
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(frame.data());
  const auto span = ct::recv::next_frame({bytes, frame.size()});
  if (span.kind != ct::recv::FrameSpan::kWhole || span.size != frame.size()) std::abort();
  std::string error;
  const auto decoded = ct::recv::decode_body({bytes + 4, frame.size() - 4}, &error);
  if (!decoded || decoded->guest_comm != comm || decoded->guest_pid != pid ||
      decoded->guest_monotonic_ns != ns || decoded->probe_source != "process.spawned" ||
      decoded->content_version != ((pid & 1) ? 0x0101 : 0x0100)) {
    std::abort();
  }
  return 0;
}
