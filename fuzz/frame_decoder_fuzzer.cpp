// cellos-telemetry-recv's decoder on arbitrary bytes from a connection: every input is either a
// frame, "need more" or a refusal with a reason; nothing crashes, hangs or reads out of bounds.
#include <cstdlib>
#include <span>

#include "frame_decoder.hpp"

namespace wire = cellos::telemetry::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> stream(data, size);
  while (!stream.empty()) {
    const wire::FrameSpan span = wire::next_frame(stream);
    if (span.kind != wire::FrameSpan::kWhole) break;
    if (span.size < 4 || span.size > stream.size()) std::abort();  // a frame must lie inside
    std::string error;
    const auto frame = wire::decode_body(stream.subspan(4, span.size - 4), &error);
    if (!frame && error.empty()) std::abort();  // every refusal names its reason
    if (frame && (!wire::valid_utf8(frame->probe_source) || !wire::valid_utf8(frame->guest_comm))) {
      std::abort();
    }
    if (frame && frame->extras.size() > wire::kMaxExtras) std::abort();  // the bound holds
    // Whatever typed extras it accepted hold only valid text and negative negatives.
    for (const auto& [key, v] : frame ? frame->extras : decltype(frame->extras){}) {
      if (!wire::valid_utf8(key) || !wire::valid_utf8(v.text)) std::abort();
      if (v.type == wire::ExtraValue::kNegative && v.negative >= 0) std::abort();
      for (const auto& item : v.list) {
        if (!wire::valid_utf8(item)) std::abort();
      }
    }
    stream = stream.subspan(span.size);
  }
  std::string error;
  (void)wire::decode_body(std::span<const uint8_t>(data, size), &error);
  return 0;
}
