#include "psi_record.hpp"

#include "proc_text.hpp"

namespace cellos::telemetry::pressure {

namespace {

std::optional<PsiLine> parse_line(std::string_view line) {
  PsiLine p;
  const auto a10 = value_of(line, "avg10");
  const auto a60 = value_of(line, "avg60");
  const auto a300 = value_of(line, "avg300");
  const auto total = value_of(line, "total");
  if (!a10 || !a60 || !a300 || !total) return std::nullopt;
  const auto v10 = parse_hundredths(*a10), v60 = parse_hundredths(*a60),
             v300 = parse_hundredths(*a300);
  const auto t = parse_uint(*total);
  if (!v10 || !v60 || !v300 || !t) return std::nullopt;
  p.avg10 = *v10;
  p.avg60 = *v60;
  p.avg300 = *v300;
  p.total_us = *t;
  return p;
}

}  // namespace

std::optional<PsiRecord> parse_psi(std::string_view text) {
  PsiRecord r;
  const auto some = line_starting(text, "some ");
  if (!some) return std::nullopt;
  const auto s = parse_line(*some);
  if (!s) return std::nullopt;
  r.some = *s;
  if (const auto full = line_starting(text, "full ")) {
    const auto f = parse_line(*full);
    if (!f) return std::nullopt;
    r.full = *f;
  }
  return r;
}

}  // namespace cellos::telemetry::pressure
