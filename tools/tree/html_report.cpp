#include "html_report.hpp"

#include <nlohmann/json.hpp>

#include "format.hpp"
#include "selection.hpp"
#include "terminal_text.hpp"
#include "timeline_page.hpp"

namespace cellos::telemetry::tree {
namespace {

using json = nlohmann::json;

const char* css_class(Outcome o) {
  switch (o) {
    case Outcome::kExitedOk:
      return "ok";
    case Outcome::kRunning:
      return "running";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kSignalled:
      return "signal";
    case Outcome::kSegfault:
      return "segfault";
    case Outcome::kOomKilled:
      return "oom";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "unknown";
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// What hovering a bar shows.
std::string tooltip(const Ledger& l, const Process& p) {
  const int64_t first = static_cast<int64_t>(l.first_ns());
  std::string t = std::to_string(p.pid) + " " + process_label(p) + "\n" + status_text(p);
  if (p.start_ns) t += "\nstarted " + format_offset(static_cast<int64_t>(*p.start_ns) - first);
  if (auto d = run_time_ns(p)) t += ", ran " + format_duration(*d);
  if (p.cpu_user_us || p.cpu_system_us) {
    t += "\ncpu " + format_duration(p.cpu_user_us.value_or(0) * 1000) + " user, " +
         format_duration(p.cpu_system_us.value_or(0) * 1000) + " system";
  }
  if (p.max_rss_kib) t += "\npeak memory " + format_kib(*p.max_rss_kib);
  if (p.read_bytes || p.write_bytes) {
    t += "\nstorage read " + format_kib(p.read_bytes.value_or(0) / 1024) + ", written " +
         format_kib(p.write_bytes.value_or(0) / 1024);
  }
  if (p.exe) t += "\nexe " + safe_name(*p.exe);
  if (p.cwd) t += "\ncwd " + safe_name(*p.cwd);
  if (p.uid) t += "\nuid " + std::to_string(*p.uid);
  if (p.euid && p.euid != p.uid) t += ", euid " + std::to_string(*p.euid);
  if (auto m = markers_text(p); !m.empty()) t += "\n" + m;
  return t;
}

}  // namespace

std::string json_for_script(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < s.size() && s[i + 1] == '\x80' &&
               (s[i + 2] == '\xa8' || s[i + 2] == '\xa9')) {
      // U+2028 and U+2029 end a line in older JavaScript.
      out += s[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string html_page(const Ledger& ledger, const std::vector<bool>& shown,
                      const std::string& title) {
  const uint64_t first = ledger.first_ns();
  uint64_t last = ledger.last_ns();
  for (const auto& p : ledger.processes()) {
    if (p.end_ns && *p.end_ns > last) last = *p.end_ns;
  }
  auto rel = [&](uint64_t ns) { return ns > first ? ns - first : 0; };

  json rows = json::array();
  // Depth-first, children in order of start, as the text tree.
  struct Item {
    size_t index;
    int depth;
  };
  std::vector<Item> todo;
  auto roots = shown_roots(ledger, shown);
  for (size_t k = roots.size(); k-- > 0;) todo.push_back({roots[k], 0});
  while (!todo.empty()) {
    Item it = todo.back();
    todo.pop_back();
    const Process& p = ledger.processes()[it.index];
    const uint64_t end = p.exited && p.end_ns ? *p.end_ns : last;
    const uint64_t start = p.start_ns ? *p.start_ns : end;
    rows.push_back({{"pid", p.pid},
                    {"depth", it.depth},
                    {"label", std::to_string(p.pid) + " " + process_label(p)},
                    {"start", rel(start)},
                    {"end", rel(std::max(start, end))},
                    {"before", p.start_ns && *p.start_ns < first},
                    {"cls", css_class(p.outcome())},
                    {"tip", tooltip(ledger, p)}});
    const auto& kids = p.children;
    for (size_t k = kids.size(); k-- > 0;) {
      if (shown[kids[k]]) todo.push_back({kids[k], it.depth + 1});
    }
  }
  json lost = json::array();
  for (const auto& l : ledger.lost()) {
    lost.push_back({{"at", rel(l.ns)}, {"text", lost_text(ledger, l)}});
  }
  json data = {{"summary", summary_text(ledger, shown)},
               {"span", std::max<uint64_t>(last - std::min(first, last), 1)},
               {"rows", std::move(rows)},
               {"lost", std::move(lost)}};
  return timeline_page(html_escape(title),
                       json_for_script(data.dump(-1, ' ', false, json::error_handler_t::replace)));
}

}  // namespace cellos::telemetry::tree
