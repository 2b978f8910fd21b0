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

void append_json_line(const Frame& f, std::string& out) {
  out += '{';
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
    if (value.is_text) {
      append_string(value.text, out);
    } else {
      out += std::to_string(value.number);
    }
  }
  out += "}\n";
}

}  // namespace cellos::telemetry::recv
