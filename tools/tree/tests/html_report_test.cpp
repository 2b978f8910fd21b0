#include "html_report.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "event_reader.hpp"
#include "selection.hpp"

namespace tr = cellos::telemetry::tree;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

std::string build_page() {
  tr::Ledger ledger;
  std::ifstream in(CT_TREE_FIXTURES "/build.jsonl");
  tr::read_events(in, "build.jsonl", [&](tr::Event&& e) { ledger.apply(e); });
  return tr::html_page(ledger, tr::select(ledger, {}), "vm42 <build.jsonl>");
}

}  // namespace

TEST(TreeHtmlReport, EmbeddedJsonCannotCloseItsElement) {
  EXPECT_EQ(tr::json_for_script(R"({"a":"</script><!--&x","b":"\u2028"})"),
            "{\"a\":\"\\u003c/script\\u003e\\u003c!--\\u0026x\",\"b\":\"\\u2028\"}");
  EXPECT_EQ(tr::json_for_script("\"\xe2\x80\xa8\xe2\x80\xa9\""), "\"\\u2028\\u2029\"");
}

TEST(TreeHtmlReport, GuestTextNeverBecomesMarkup) {
  const auto page = build_page();
  // Every </script> is the end of one of the page's own scripts: the data's did not survive.
  EXPECT_EQ(count(page, "</script>"), count(page, "<script"));
  EXPECT_EQ(page.find("<b>x</b>"), std::string::npos);
  EXPECT_NE(page.find("\\u003c/script\\u003e\\u003cb\\u003ex"), std::string::npos);
  // The title is HTML-escaped where it is markup.
  EXPECT_NE(page.find("<title>cellos-telemetry-tree: vm42 &lt;build.jsonl&gt;</title>"),
            std::string::npos);
}

TEST(TreeHtmlReport, SelfContained) {
  const auto page = build_page();
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* remote : {"src=", "href=", "@import", "url(", "fetch(", "XMLHttpRequest"}) {
    EXPECT_EQ(page.find(remote), std::string::npos) << remote;
  }
  // The one address is the SVG namespace's name, which is never fetched.
  EXPECT_EQ(count(page, "http:"), count(page, "http://www.w3.org/2000/svg"));
}
