#include "text_report.hpp"

#include "format.hpp"
#include "selection.hpp"

namespace cellos::telemetry::tree {
namespace {

const char* colour_of(Outcome o) {
  switch (o) {
    case Outcome::kExitedOk:
      return "32";
    case Outcome::kRunning:
      return "33";
    case Outcome::kFailed:
    case Outcome::kSignalled:
      return "31";
    case Outcome::kSegfault:
      return "1;31";
    case Outcome::kOomKilled:
      return "1;35";
    case Outcome::kUnknown:
      return "2";
  }
  return "0";
}

class Writer {
 public:
  Writer(const Ledger& l, const std::vector<bool>& shown, const TextStyle& style, std::ostream& out)
      : l_(l), shown_(shown), style_(style), out_(out) {}

  std::string paint(const char* sgr, const std::string& text) const {
    if (!style_.colour || text.empty()) return text;
    return std::string("\x1b[") + sgr + "m" + text + "\x1b[0m";
  }

  void line(size_t i, const std::string& branch) {
    const Process& p = l_.processes()[i];
    std::string s = paint("2", branch) + std::to_string(p.pid) + " " + process_label(p);
    std::string when;  // "+0.020s 810ms": start offset and run time, as far as known
    if (p.start_ns) {
      when = format_offset(static_cast<int64_t>(*p.start_ns) - static_cast<int64_t>(l_.first_ns()));
    }
    if (auto t = run_time_ns(p)) when += (when.empty() ? "" : " ") + format_duration(*t);
    if (!when.empty()) s += "  " + when;
    s += "  " + paint(colour_of(p.outcome()), status_text(p));
    if (p.cpu_user_us || p.cpu_system_us) {
      s += "  cpu " +
           format_duration((p.cpu_user_us.value_or(0) + p.cpu_system_us.value_or(0)) * 1000);
    }
    if (p.max_rss_kib) s += "  rss " + format_kib(*p.max_rss_kib);
    if (auto m = markers_text(p); !m.empty()) s += "  " + paint("1", m);
    out_ << s << '\n';
  }

  // Depth-first with an explicit stack: a fork chain may be deeper than ours.
  void tree(size_t root) {
    struct Item {
      size_t index;
      std::string branch, indent;  // this line's connector; what its children's lines start with
    };
    std::vector<Item> todo{{root, "", ""}};
    while (!todo.empty()) {
      Item it = std::move(todo.back());
      todo.pop_back();
      line(it.index, it.branch);
      std::vector<size_t> kids;
      for (size_t c : l_.processes()[it.index].children) {
        if (shown_[c]) kids.push_back(c);
      }
      for (size_t k = kids.size(); k-- > 0;) {
        const bool last = k + 1 == kids.size();
        todo.push_back(
            {kids[k], it.indent + (last ? "└─ " : "├─ "), it.indent + (last ? "   " : "│  ")});
      }
    }
  }

 private:
  const Ledger& l_;
  const std::vector<bool>& shown_;
  const TextStyle& style_;
  std::ostream& out_;
};

}  // namespace

void write_text(const Ledger& ledger, const std::vector<bool>& shown, const TextStyle& style,
                std::ostream& out) {
  out << (style.vm.empty() ? "" : style.vm + ": ") << summary_text(ledger, shown) << '\n';
  Writer w(ledger, shown, style, out);
  for (size_t root : shown_roots(ledger, shown)) w.tree(root);
  for (const auto& lost : ledger.lost()) out << w.paint("1;31", lost_text(ledger, lost)) << '\n';
}

}  // namespace cellos::telemetry::tree
