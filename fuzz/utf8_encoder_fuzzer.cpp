// The path of untrusted text from the kernel to the host: the core's UTF-8 repair, then the
// vsock sink's encoder, then the receiver's strict decoder. Whatever bytes a process names
// itself with (its comm, its argv, its cwd), the frame must decode, carry exactly the repaired
// text, and the two UTF-8 validators (the SDK's, used by the core and the sink, and the
// receiver's own) must agree on every input. The same bytes also fill one extra of every ABI 2
// type, so the typed encoding and the cut to 4096 bytes are checked against the decoder too.
//
// Input: u32 pid, u64 ns, then the text. pid & 1: with extras; the text split at '/' is a list.
#include <cellos/telemetry/plugin_abi.h>
#include <cellos/telemetry/sdk.hpp>
#include <cellos/telemetry/text.hpp>

#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "frame_decoder.hpp"
#include "frame_encoder.hpp"

namespace ct = cellos::telemetry;

namespace {

[[noreturn]] void fail() {
  std::abort();
}

// The decoded extras must be those encoded, in order, possibly cut (a list shortened, trailing
// extras gone), and then say so.
void check_extras(const ct::wire::Frame& f, const std::vector<ct_extra>& sent) {
  size_t i = 0;
  bool flagged = false, shortened = false;
  for (; i < f.extras.size(); ++i) {
    const auto& [key, v] = f.extras[i];
    if (key == "extras_truncated") {
      if (i + 1 != f.extras.size() || v.type != ct::wire::ExtraValue::kBool || v.number != 1) {
        fail();
      }
      flagged = true;
      break;
    }
    if (i >= sent.size() || key != sent[i].key) fail();
    const ct_value& s = sent[i].value;
    switch (s.type) {
      case CT_VALUE_UINT:
        if (v.type != ct::wire::ExtraValue::kUnsigned || v.number != s.as.u) fail();
        break;
      case CT_VALUE_NEGINT:
        if (v.type != ct::wire::ExtraValue::kNegative || v.negative != s.as.i) fail();
        break;
      case CT_VALUE_BOOL:
        if (v.type != ct::wire::ExtraValue::kBool || v.number != (s.as.b ? 1u : 0u)) fail();
        break;
      case CT_VALUE_TEXT:
        if (v.type != ct::wire::ExtraValue::kText ||
            v.text != ct::repair_utf8(ct::text_view(s.as.text))) {
          fail();
        }
        break;
      default:
        if (v.type != ct::wire::ExtraValue::kTextList || v.list.size() > s.as.list.n) fail();
        for (size_t k = 0; k < v.list.size(); ++k) {
          if (v.list[k] != ct::repair_utf8(ct::text_view(s.as.list.items[k]))) fail();
        }
        shortened = shortened || v.list.size() < s.as.list.n;
    }
  }
  // The flag says exactly whether anything was cut.
  if (flagged != (shortened || i < sent.size())) fail();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  uint32_t pid = 0;
  uint64_t ns = 0;
  std::memcpy(&pid, data, 4);
  std::memcpy(&ns, data + 4, 8);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 12), size - 12);
  // The boundary carries comm as a C string, and a kernel comm never holds a NUL: stop there.
  const std::string_view raw = bytes.substr(0, bytes.find('\0'));

  const bool core_ok = ct::is_valid_utf8(raw);
  if (core_ok != ct::wire::valid_utf8(raw)) fail();
  const std::string comm = ct::repair_utf8(raw);
  if (!ct::is_valid_utf8(comm) || (core_ok && comm != raw)) fail();

  // Typed extras from the same bytes (text extras may hold NULs: they carry a length).
  std::vector<ct_text> items;
  for (size_t start = 0; start <= bytes.size();) {
    const size_t slash = std::min(bytes.find('/', start), bytes.size());
    items.push_back(ct_text{bytes.data() + start, static_cast<uint32_t>(slash - start)});
    start = slash + 1;
  }
  ct_extra neg{"d", {CT_VALUE_NEGINT, 0, {}}};
  neg.value.as.i = -static_cast<int64_t>(ns >> 1) - 1;
  ct_extra flag{"ok", {CT_VALUE_BOOL, 0, {}}};
  flag.value.as.b = static_cast<int>(pid & 2);
  ct_extra list{"l", {CT_VALUE_TEXT_LIST, 0, {}}};
  list.value.as.list = ct_text_list{items.data(), static_cast<uint32_t>(items.size())};
  std::vector<ct_extra> extras;
  if (pid & 1) {
    extras = {ct::uint_extra("n", ns ^ pid), neg, flag, ct::text_extra("t", bytes), list};
  }
  const ct_event e = ct::make_event("process.spawned", pid, comm.c_str(), ns, extras.data(),
                                    static_cast<uint32_t>(extras.size()));
  const std::string frame = ct::wire::encode_frame(e);
  if (frame.empty()) {
    if (comm.size() < 3900) fail();  // only a comm far beyond the kernel's may be refused
    return 0;
  }
  const auto* out = reinterpret_cast<const uint8_t*>(frame.data());
  const auto span = ct::wire::next_frame({out, frame.size()});
  if (span.kind != ct::wire::FrameSpan::kWhole || span.size != frame.size()) fail();
  std::string error;
  const auto decoded = ct::wire::decode_body({out + 4, frame.size() - 4}, &error);
  if (!decoded || decoded->guest_comm != comm || decoded->guest_pid != pid ||
      decoded->guest_monotonic_ns != ns || decoded->probe_source != "process.spawned" ||
      decoded->content_version != ((pid & 1) ? 0x0101 : 0x0100)) {
    fail();
  }
  check_extras(*decoded, extras);
  return 0;
}
