#include "json_line.hpp"

#include <cellos/telemetry/text.hpp>

namespace cellos::telemetry::recv {
namespace {

void append_string(std::string_view s, std::string& out) {
  append_json_string(out, s);
}

void append_key(std::string_view key, std::string& out) {
  out += out.back() == '{' ? "" : ",";
  append_string(key, out);
  out += ':';
}

}  // namespace

void append_json_line(const wire::Frame& f, std::string& out, const LineTags& tags) {
  out += '{';
  if (!tags.vm.empty()) {
    append_key("vm", out);
    append_string(tags.vm, out);
  }
  if (tags.stream_id) {
    bool own = false;  // agent.hello and agent.restored say it themselves
    for (const auto& extra : f.extras) own = own || extra.first == "stream_id";
    if (!own) {
      append_key("stream_id", out);
      out += std::to_string(*tags.stream_id);
    }
  }
  append_key("content_version", out);
  out += std::to_string(f.content_version);
  append_key("probe_source", out);
  append_string(f.probe_source, out);
  append_key("guest_pid", out);
  out += std::to_string(f.guest_pid);
  append_key("guest_comm", out);
  append_string(f.guest_comm, out);
  append_key("guest_monotonic_ns", out);
  out += std::to_string(f.guest_monotonic_ns);
  for (const auto& [key, value] : f.extras) {
    append_key(key, out);
    switch (value.type) {
      case wire::ExtraValue::kUnsigned:
        out += std::to_string(value.number);
        break;
      case wire::ExtraValue::kNegative:
        out += std::to_string(value.negative);
        break;
      case wire::ExtraValue::kBool:
        out += value.number ? "true" : "false";
        break;
      case wire::ExtraValue::kText:
        append_string(value.text, out);
        break;
      case wire::ExtraValue::kTextList:
        out += '[';
        for (size_t i = 0; i < value.list.size(); ++i) {
          if (i > 0) out += ',';
          append_string(value.list[i], out);
        }
        out += ']';
        break;
    }
  }
  out += "}\n";
}

}  // namespace cellos::telemetry::recv
