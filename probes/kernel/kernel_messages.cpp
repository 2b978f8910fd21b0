#include "kernel_messages.hpp"

#include <cellos/telemetry/plugin_abi.h>

#include <charconv>

#include "kmsg_record.hpp"

namespace cellos::telemetry::kernel {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

// A number at the front of s in the given base, consumed; nullopt (s untouched) if none.
template <class T>
std::optional<T> take_number(std::string_view& s, int base = 10) {
  T v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || end == s.data()) return std::nullopt;
  s.remove_prefix(static_cast<size_t>(end - s.data()));
  return v;
}

// Consumes p from the front of s; false (s untouched) if s does not start with it.
bool take(std::string_view& s, std::string_view p) {
  if (!starts_with(s, p)) return false;
  s.remove_prefix(p.size());
  return true;
}

// "KEY=value" in a comma-separated list (the oom-kill: record), or nullopt.
std::optional<std::string_view> list_value(std::string_view list, std::string_view key) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (item.size() > key.size() && starts_with(item, key) && item[key.size()] == '=') {
      return item.substr(key.size() + 1);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

// "COMM[PID]" ending exactly where `anchor` starts in message: the comm is everything before
// the last '[' of that stretch, so it may hold '[' itself. The comm must be one a task can have.
std::optional<std::pair<std::string, uint32_t>> comm_and_pid(std::string_view before) {
  if (before.empty() || before.back() != ']') return std::nullopt;
  before.remove_suffix(1);
  const size_t open = before.rfind('[');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = before.substr(open + 1);
  const auto pid = take_number<uint32_t>(digits);
  if (!pid || !digits.empty()) return std::nullopt;
  const std::string comm = unescape_kmsg(before.substr(0, open));
  if (comm.size() > CT_COMM_MAX_BYTES) return std::nullopt;
  return std::make_pair(comm, *pid);
}

// " in OBJECT[OFFSETS]" at the front of s: OBJECT, cut to kMaxTextBytes; empty if absent.
std::string object_name(std::string_view s) {
  if (!take(s, " in ")) return {};
  const size_t likely = s.rfind(" likely on CPU");
  if (likely != std::string_view::npos) s = s.substr(0, likely);
  const size_t open = s.rfind('[');
  if (open != std::string_view::npos && s.back() == ']') s = s.substr(0, open);
  return std::string(bounded_kmsg_text(s, kMaxTextBytes));
}

}  // namespace

std::string comm_from_kmsg(std::string_view escaped) {
  std::string comm = unescape_kmsg(escaped);
  if (comm.size() > CT_COMM_MAX_BYTES) {
    size_t n = CT_COMM_MAX_BYTES;  // never inside a UTF-8 sequence
    while (n > 0 && (static_cast<unsigned char>(comm[n]) & 0xC0) == 0x80) --n;
    comm.resize(n);
  }
  return comm;
}

std::optional<Segfault> parse_segfault(std::string_view message) {
  // Every place the kernel's text could start; the first that parses whole wins. A comm of at
  // most 15 bytes cannot hold "]: segfault at " with a "[PID" before it, so it cannot win.
  constexpr std::string_view kAnchor = "]: segfault at ";
  for (size_t at = message.find(kAnchor); at != std::string_view::npos;
       at = message.find(kAnchor, at + 1)) {
    const auto who = comm_and_pid(message.substr(0, at + 1));
    if (!who) continue;
    std::string_view s = message.substr(at + kAnchor.size());
    Segfault f;
    f.comm = who->first;
    f.pid = who->second;
    const auto address = take_number<uint64_t>(s, 16);
    if (!address || !take(s, " ip ")) continue;
    const auto ip = take_number<uint64_t>(s, 16);
    if (!ip || !take(s, " sp ")) continue;
    const auto sp = take_number<uint64_t>(s, 16);
    if (!sp || !take(s, " error ")) continue;
    const auto error = take_number<uint64_t>(s, 16);
    if (!error) continue;
    f.address = *address;
    f.ip = *ip;
    f.sp = *sp;
    f.error = *error;
    f.object = object_name(s);
    return f;
  }
  return std::nullopt;
}

std::optional<Trap> parse_trap(std::string_view message) {
  if (!take(message, "traps: ")) return std::nullopt;
  // "COMM[PID] WHAT ip:..."; the comm may hold "] ", so try each "] " within a comm's reach.
  for (size_t at = message.find("] "); at != std::string_view::npos && at <= 4 * 15 + 12;
       at = message.find("] ", at + 1)) {
    const auto who = comm_and_pid(message.substr(0, at + 1));
    if (!who) continue;
    std::string_view s = message.substr(at + 2);
    Trap t;
    t.comm = who->first;
    t.pid = who->second;
    const size_t ip_at = s.find(" ip:");
    std::string_view what = s.substr(0, ip_at);
    take(what, "trap ");
    if (what.empty()) continue;
    t.trap = std::string(bounded_kmsg_text(what, kMaxTextBytes));
    if (ip_at != std::string_view::npos) {
      s.remove_prefix(ip_at + 4);
      t.ip = take_number<uint64_t>(s, 16);
      if (t.ip && take(s, " sp:")) t.sp = take_number<uint64_t>(s, 16);
      if (t.sp && take(s, " error:")) t.error = take_number<uint64_t>(s, 16);
      if (t.error) t.object = object_name(s);
    }
    return t;
  }
  return std::nullopt;
}

std::optional<OomVictim> parse_oom_victim(std::string_view message) {
  // "Out of memory", "Memory cgroup out of memory", "System is deadlocked on memory", ... then
  // this: the reason is the kernel's, so only its start is checked.
  constexpr std::string_view kAnchor = ": Killed process ";
  const size_t at = message.find(kAnchor);
  if (at == std::string_view::npos) return std::nullopt;
  if (!starts_with(message, "Out of memory") && !starts_with(message, "Memory cgroup out of") &&
      !starts_with(message, "System is deadlocked on memory")) {
    return std::nullopt;
  }
  std::string_view s = message.substr(at + kAnchor.size());
  OomVictim v;
  const auto pid = take_number<uint32_t>(s);
  if (!pid || !take(s, " (")) return std::nullopt;
  v.pid = *pid;
  // The comm ends at the last ") total-vm:": everything after it is the kernel's numbers.
  const size_t end = s.rfind(") total-vm:");
  if (end == std::string_view::npos) return std::nullopt;
  v.comm = unescape_kmsg(s.substr(0, end));
  if (v.comm.size() > CT_COMM_MAX_BYTES) return std::nullopt;
  s.remove_prefix(end + 11);
  const auto kib = [&s](std::string_view before, uint64_t& out) {
    if (!take(s, before)) return false;
    const auto n = take_number<uint64_t>(s);
    if (!n || !take(s, "kB")) return false;
    out = *n;
    return true;
  };
  if (!kib("", v.total_vm_kib) || !kib(", anon-rss:", v.anon_rss_kib) ||
      !kib(", file-rss:", v.file_rss_kib) || !kib(", shmem-rss:", v.shmem_rss_kib)) {
    return std::nullopt;
  }
  if (take(s, ", UID:")) v.uid = take_number<uint64_t>(s);
  const size_t adj = s.find(" oom_score_adj:");
  if (adj != std::string_view::npos) {
    s.remove_prefix(adj + 15);
    v.oom_score_adj = take_number<int64_t>(s);
  }
  return v;
}

std::optional<OomContext> parse_oom_context(std::string_view message) {
  if (!take(message, "oom-kill:")) return std::nullopt;
  OomContext c;
  const auto pid_text = list_value(message, "pid");
  if (!pid_text) return std::nullopt;
  std::string_view p = *pid_text;
  const auto pid = take_number<uint32_t>(p);
  if (!pid || !p.empty()) return std::nullopt;
  c.pid = *pid;
  if (auto uid = list_value(message, "uid")) c.uid = take_number<uint64_t>(*uid);
  if (auto v = list_value(message, "constraint")) {
    c.constraint = std::string(bounded_kmsg_text(*v, kMaxTextBytes));
  }
  // A cgroup path may hold commas; task_memcg is followed by task= and the comm, so take it up
  // to the last ",task=" (a comm cannot hold ",task=X,pid=N,uid=N" in 15 bytes).
  const size_t start = message.find(",task_memcg=");
  if (start != std::string_view::npos) {
    std::string_view memcg = message.substr(start + 12);
    const size_t task = memcg.rfind(",task=");
    if (task != std::string_view::npos) memcg = memcg.substr(0, task);
    c.memcg = std::string(bounded_kmsg_text(memcg, kMaxTextBytes));
  }
  return c;
}

std::optional<HungTask> parse_hung_task(std::string_view message) {
  if (!take(message, "INFO: task ")) return std::nullopt;
  constexpr std::string_view kAnchor = " blocked for more than ";
  const size_t at = message.find(kAnchor);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view who = message.substr(0, at);
  const size_t colon = who.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view digits = who.substr(colon + 1);
  const auto pid = take_number<uint32_t>(digits);
  if (!pid || !digits.empty()) return std::nullopt;
  HungTask h;
  h.pid = *pid;
  h.comm = unescape_kmsg(who.substr(0, colon));
  if (h.comm.size() > CT_COMM_MAX_BYTES) return std::nullopt;
  std::string_view s = message.substr(at + kAnchor.size());
  const auto seconds = take_number<uint64_t>(s);
  if (!seconds || !take(s, " seconds")) return std::nullopt;
  h.blocked_s = *seconds;
  return h;
}

std::optional<KernelWarning> parse_warning(std::string_view message) {
  if (!starts_with(message, "WARNING:") && !starts_with(message, "BUG:") &&
      !starts_with(message, "Oops") && !starts_with(message, "kernel BUG at ")) {
    return std::nullopt;
  }
  KernelWarning w;
  const size_t at = message.find(" PID: ");
  if (at != std::string_view::npos) {
    std::string_view s = message.substr(at + 6);
    w.pid = take_number<uint32_t>(s);
  }
  return w;
}

}  // namespace cellos::telemetry::kernel
