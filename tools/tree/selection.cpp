#include "selection.hpp"

namespace cellos::telemetry::tree {
namespace {

void mark_subtree(const Ledger& l, size_t i, std::vector<bool>& in) {
  // Iterative: a fork chain may be deeper than the stack.
  std::vector<size_t> todo{i};
  while (!todo.empty()) {
    size_t x = todo.back();
    todo.pop_back();
    if (in[x]) continue;
    in[x] = true;
    for (size_t c : l.processes()[x].children) todo.push_back(c);
  }
}

}  // namespace

std::vector<bool> select(const Ledger& ledger, const Selection& s) {
  const auto& ps = ledger.processes();
  std::vector<bool> scope(ps.size(), !s.pid);
  if (s.pid) {
    bool any = false;
    for (size_t i = 0; i < ps.size(); ++i) {
      if (ps[i].pid == *s.pid) {
        mark_subtree(ledger, i, scope);
        any = true;
      }
    }
    if (!any) return {};
  }
  if (!s.failed_only) return scope;

  std::vector<bool> shown(ps.size(), false);
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!scope[i] || !ps[i].failed()) continue;
    // The failure and its ancestors, up to the edge of the scope.
    for (std::optional<size_t> x = i; x && scope[*x] && !shown[*x]; x = ps[*x].parent) {
      shown[*x] = true;
    }
  }
  return shown;
}

std::vector<size_t> shown_roots(const Ledger& ledger, const std::vector<bool>& shown) {
  std::vector<size_t> out;
  const auto& ps = ledger.processes();
  for (size_t i = 0; i < ps.size() && i < shown.size(); ++i) {
    if (shown[i] && (!ps[i].parent || !shown[*ps[i].parent])) out.push_back(i);
  }
  return out;
}

}  // namespace cellos::telemetry::tree
