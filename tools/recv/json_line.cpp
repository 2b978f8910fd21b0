#include "json_line.hpp"

#include <cstdio>

namespace cellos::telemetry::recv {
namespace {

void append_string(std::string_view s, std::string& out) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
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
