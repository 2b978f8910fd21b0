#include "vm_label.hpp"

#include <stdexcept>
#include <string>

namespace cellos::telemetry::recv {
namespace {

bool label_byte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool strip_suffix(std::string_view& s, std::string_view suffix) {
  if (s.size() <= suffix.size() || !s.ends_with(suffix)) return false;
  s.remove_suffix(suffix.size());
  return true;
}

}  // namespace

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelBytes || label[0] == '.' || label[0] == '-') {
    return false;
  }
  for (const char c : label) {
    if (!label_byte(c)) return false;
  }
  return true;
}

bool has_port_suffix(std::string_view name) {
  const size_t underscore = name.rfind('_');
  if (underscore == std::string_view::npos || underscore + 1 == name.size()) return false;
  for (size_t i = underscore + 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  return true;
}

std::string label_from_socket_path(std::string_view path) {
  std::string_view name = path.substr(path.rfind('/') + 1);  // npos + 1 == 0
  if (has_port_suffix(name)) name = name.substr(0, name.rfind('_'));
  if (!strip_suffix(name, ".vsock")) strip_suffix(name, ".sock");
  std::string label;
  for (const char c : name.substr(0, kMaxLabelBytes)) label += label_byte(c) ? c : '_';
  while (!label.empty() && (label[0] == '.' || label[0] == '-')) label.erase(0, 1);
  return label.empty() ? "vm" : label;
}

ListenSpec parse_listen_spec(std::string_view text) {
  ListenSpec spec;
  std::string_view address = text;
  const size_t eq = text.find('=');
  if (eq != std::string_view::npos && eq < text.find(':')) {
    spec.label = std::string(text.substr(0, eq));
    address = text.substr(eq + 1);
    if (!valid_label(spec.label)) {
      throw std::invalid_argument(
          "--listen " + std::string(text) + ": label '" + spec.label +
          "' must be 1 to 64 of A-Z a-z 0-9 . _ - (not starting with . or -): it names the "
          "VM's file in --out-dir");
    }
  }
  spec.address = wire::parse_listen_address(address);
  if (spec.label.empty() && spec.address.family() == AF_UNIX) {
    spec.label = label_from_socket_path(address.substr(5));
  }
  return spec;
}

}  // namespace cellos::telemetry::recv
