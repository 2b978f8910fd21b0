#include "ledger_support.hpp"

#include <unistd.h>

#include <cellos/telemetry/sdk.hpp>

#include <array>
#include <cstdint>
#include <deque>
#include <fstream>
#include <iterator>
#include <sstream>

#include "frame_encoder.hpp"
#include "frame_limits.hpp"

namespace cellos::telemetry::process::testing {
namespace {

std::optional<std::string> raw(const t::Captured& e, const std::string& key) {
  const auto it = e.typed_extras.find(key);
  if (it == e.typed_extras.end()) return std::nullopt;
  return it->second;
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string link(const std::string& path) {
  char buf[4096];
  const ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::optional<uint64_t> u(const t::Captured& e, const std::string& key) {
  const auto it = e.extras.find(key);
  if (it == e.extras.end()) return std::nullopt;
  return it->second;
}

std::optional<bool> b(const t::Captured& e, const std::string& key) {
  const auto v = raw(e, key);
  if (!v || (*v != "true" && *v != "false")) return std::nullopt;
  return *v == "true";
}

std::optional<std::string> text(const t::Captured& e, const std::string& key) {
  const auto v = raw(e, key);
  if (!v || v->rfind("t:", 0) != 0) return std::nullopt;
  return unhex(std::string_view(*v).substr(2));
}

std::optional<std::vector<std::string>> list(const t::Captured& e, const std::string& key) {
  const auto v = raw(e, key);
  if (!v || v->rfind("l:", 0) != 0) return std::nullopt;
  std::vector<std::string> out;
  const std::string items = v->substr(2);
  if (items.empty()) return out;
  std::istringstream in(items);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(unhex(item));
  if (items.back() == ',') out.emplace_back();
  return out;
}

FrameSize frame_size(const t::Captured& e) {
  // The event rebuilt from the capture: the same keys, types and bytes the agent handed on.
  std::deque<std::string> strings;
  std::deque<std::vector<ct_text>> lists;
  std::vector<ct_extra> extras;
  const auto keep = [&](std::string s) -> const std::string& {
    return strings.emplace_back(std::move(s));
  };
  const auto as_text = [](const std::string& s) {
    return ct_text{s.data(), static_cast<uint32_t>(s.size())};
  };
  for (const auto& [key, value] : e.typed_extras) {
    ct_extra x{keep(key).c_str(), {}};
    if (value == "true" || value == "false") {
      x.value.type = CT_VALUE_BOOL;
      x.value.as.b = value == "true";
    } else if (const auto t = text(e, key)) {
      x.value.type = CT_VALUE_TEXT;
      x.value.as.text = as_text(keep(*t));
    } else if (const auto l = list(e, key)) {
      auto& items = lists.emplace_back();
      for (const auto& item : *l) items.push_back(as_text(keep(item)));
      x.value.type = CT_VALUE_TEXT_LIST;
      x.value.as.list = ct_text_list{items.data(), static_cast<uint32_t>(items.size())};
    } else if (!value.empty() && value[0] == '-') {
      x.value.type = CT_VALUE_NEGINT;
      x.value.as.i = std::stoll(value);
    } else {
      x.value.type = CT_VALUE_UINT;
      x.value.as.u = std::stoull(value);
    }
    extras.push_back(x);
  }
  const ct_event ev = cellos::telemetry::make_event(
      e.probe_source.c_str(), e.guest_pid, e.guest_comm.c_str(), e.guest_monotonic_ns,
      extras.data(), static_cast<uint32_t>(extras.size()));
  std::array<uint8_t, cellos::telemetry::wire::kMaxFrameBytes> out{};
  FrameSize f;
  f.bytes = cellos::telemetry::wire::encode_frame(ev, out, &f.truncated);
  return f;
}

std::vector<t::Captured> events_about(const Agent& agent, pid_t pid, uint64_t id) {
  std::vector<t::Captured> out;
  for (auto& e : agent.events()) {
    if (e.guest_pid != static_cast<uint32_t>(pid)) continue;
    if (id != 0 && u(e, "process_id") != id) continue;
    out.push_back(e);
  }
  return out;
}

pid_t spawn_exec(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

std::optional<ProcFacts> proc_facts(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::string stat = slurp(dir + "/stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string x;
  while (fields >> x) f.push_back(x);
  if (f.size() < 20) return std::nullopt;
  ProcFacts p;
  p.ppid = static_cast<uint32_t>(std::stoul(f[1]));  // field 4
  p.start_ticks = std::stoull(f[19]);                // field 22
  p.exe = link(dir + "/exe");
  p.cwd = link(dir + "/cwd");
  const std::string cmdline = slurp(dir + "/cmdline");
  std::string arg;
  for (char c : cmdline) {
    if (c == '\0') {
      p.argv.push_back(arg);
      arg.clear();
    } else {
      arg.push_back(c);
    }
  }
  std::istringstream status(slurp(dir + "/status"));
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream l(line);
    std::string key;
    l >> key;
    if (key == "Uid:") l >> p.uid >> p.euid;
    if (key == "Gid:") l >> p.gid >> p.egid;
  }
  return p;
}

}  // namespace cellos::telemetry::process::testing
