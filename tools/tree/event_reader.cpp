#include "event_reader.hpp"

#include <nlohmann/json.hpp>

#include <string_view>

namespace cellos::telemetry::tree {
namespace {

using json = nlohmann::json;

std::string shown(const std::string& source) {
  return source == "-" ? "<stdin>" : source;
}

[[noreturn]] void fail(const std::string& source, size_t line_no, size_t col,
                       const std::string& message) {
  throw InputError(shown(source) + ":" + std::to_string(line_no) + ":" + std::to_string(col) +
                   ": " + message);
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 5:
// syntax error while parsing value - invalid literal; last read: '...'"; keep the reason.
std::string parse_reason(const std::string& what) {
  auto dash = what.find(" - ");
  std::string reason = dash == std::string::npos ? what : what.substr(dash + 3);
  if (auto semi = reason.find(';'); semi != std::string::npos) reason.resize(semi);
  return reason;
}

// Reads the keys of one object, each checked against the contract's type.
class Fields {
 public:
  Fields(const json& obj, const std::string& source, size_t line_no)
      : obj_(obj), source_(source), line_no_(line_no) {}

  const json* find(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  [[noreturn]] void wrong(const char* key, const char* what) const {
    fail(source_, line_no_, 1, std::string("\"") + key + "\" must be " + what);
  }

  void unsigned_int(const char* key, std::optional<uint64_t>& out) const {
    if (const json* v = find(key)) {
      if (!v->is_number_unsigned()) wrong(key, "an unsigned integer");
      out = v->get<uint64_t>();
    }
  }
  void signed_int(const char* key, std::optional<int64_t>& out) const {
    if (const json* v = find(key)) {
      if (!v->is_number_integer()) wrong(key, "an integer");
      if (v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX) wrong(key, "an integer");
      out = v->get<int64_t>();
    }
  }
  void boolean(const char* key, bool& out) const {
    if (const json* v = find(key)) {
      if (!v->is_boolean()) wrong(key, "true or false");
      out = v->get<bool>();
    }
  }
  void text(const char* key, std::optional<std::string>& out) const {
    if (const json* v = find(key)) {
      if (!v->is_string()) wrong(key, "a string");
      out = v->get<std::string>();
    }
  }
  void text_list(const char* key, std::optional<std::vector<std::string>>& out) const {
    if (const json* v = find(key)) {
      if (!v->is_array()) wrong(key, "an array of strings");
      std::vector<std::string> items;
      for (const auto& item : *v) {
        if (!item.is_string()) wrong(key, "an array of strings");
        items.push_back(item.get<std::string>());
      }
      out = std::move(items);
    }
  }

 private:
  const json& obj_;
  const std::string& source_;
  size_t line_no_;
};

}  // namespace

Event parse_event_line(const std::string& line, const std::string& source, size_t line_no) {
  json obj;
  try {
    obj = json::parse(line);
  } catch (const json::parse_error& e) {
    // e.byte is the 1-based offset of the byte where parsing stopped.
    fail(source, line_no, e.byte == 0 ? 1 : e.byte, "not JSON: " + parse_reason(e.what()));
  }
  if (!obj.is_object()) fail(source, line_no, 1, "not a JSON object");

  Fields f(obj, source, line_no);
  Event e;
  std::optional<std::string> kind, comm;
  f.text("probe_source", kind);
  if (!kind) fail(source, line_no, 1, "no \"probe_source\"");
  e.probe_source = std::move(*kind);
  std::optional<uint64_t> pid, ns;
  f.unsigned_int("guest_pid", pid);
  if (pid && *pid > UINT32_MAX) f.wrong("guest_pid", "a 32-bit unsigned integer");
  e.guest_pid = static_cast<uint32_t>(pid.value_or(0));
  f.text("guest_comm", comm);
  e.guest_comm = comm.value_or("");
  f.unsigned_int("guest_monotonic_ns", ns);
  e.guest_monotonic_ns = ns.value_or(0);
  f.text("vm", e.vm);

  f.unsigned_int("process_id", e.process_id);
  f.unsigned_int("parent_id", e.parent_id);
  f.unsigned_int("ppid", e.ppid);
  f.unsigned_int("start_ns", e.start_ns);
  f.boolean("initial", e.initial);
  f.boolean("resync", e.resync);

  f.text("exe", e.exe);
  f.text("cwd", e.cwd);
  f.text_list("argv", e.argv);
  f.boolean("argv_truncated", e.argv_truncated);
  f.boolean("raced", e.raced);
  f.unsigned_int("uid", e.uid);
  f.unsigned_int("euid", e.euid);
  f.unsigned_int("gid", e.gid);
  f.unsigned_int("egid", e.egid);

  f.signed_int("exit_code", e.exit_code);
  f.unsigned_int("signal", e.signal);
  f.boolean("core_dumped", e.core_dumped);
  f.unsigned_int("duration_ns", e.duration_ns);
  f.unsigned_int("cpu_user_us", e.cpu_user_us);
  f.unsigned_int("cpu_system_us", e.cpu_system_us);
  f.unsigned_int("max_rss_kib", e.max_rss_kib);
  f.unsigned_int("read_bytes", e.read_bytes);
  f.unsigned_int("write_bytes", e.write_bytes);
  f.unsigned_int("lost_count", e.lost_count);
  return e;
}

size_t read_events(std::istream& in, const std::string& source,
                   const std::function<void(Event&&)>& sink) {
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    sink(parse_event_line(line, source, line_no));
  }
  return line_no;
}

}  // namespace cellos::telemetry::tree
