// The timeline page in a real browser: Debian's chromium, headless, dumps the DOM after the
// page's script ran; the bars must be there with their labels, and the guest's text as text.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "harness.hpp"

namespace t = cellos::telemetry::testing;

namespace {

std::string chromium_dom(const std::string& html, const t::TempDir& dir) {
  // A profile of its own in the temp dir, so that runs never share or leave state.
  t::ChildProcess browser(
      {CT_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
       "--user-data-dir=" + dir.file("profile"), "--dump-dom", "file://" + html},
      dir);
  auto code = browser.wait(std::chrono::seconds(90));
  EXPECT_EQ(code, 0) << browser.err();
  return browser.out();
}

}  // namespace

TEST(TreeHtmlBrowser, KnownProcessBarIsRenderedWithItsLabel) {
  t::TempDir dir;
  const std::string html = dir.file("timeline.html");
  t::ChildProcess tree({CT_TREE_BIN, "--html", html, CT_TREE_FIXTURES "/build.jsonl"}, dir);
  ASSERT_EQ(tree.wait(std::chrono::seconds(60)), 0) << tree.err();

  const std::string dom = chromium_dom(html, dir);
  // The script built one row per process: cc -c broken.c failed, with its bar and label.
  auto row = dom.find("<g class=\"row failed\" data-pid=\"102\"");
  ASSERT_NE(row, std::string::npos) << dom;
  auto row_end = dom.find("</g>", row);
  const std::string g = dom.substr(row, row_end - row);
  EXPECT_NE(g.find("<text class=\"label\""), std::string::npos) << g;
  EXPECT_NE(g.find(">102 cc -c broken.c</text>"), std::string::npos) << g;
  EXPECT_NE(g.find("<rect class=\"bar\""), std::string::npos) << g;
  EXPECT_NE(g.find("exit 1"), std::string::npos) << g;  // the hover text
  // The OOM-killed and the still-running are coloured apart.
  EXPECT_NE(dom.find("<g class=\"row oom\" data-pid=\"103\""), std::string::npos);
  EXPECT_NE(dom.find("<g class=\"row running\" data-pid=\"110\""), std::string::npos);
  // The hostile argument is text in the DOM, not an element.
  EXPECT_EQ(dom.find("<b>x</b>"), std::string::npos);
  EXPECT_NE(dom.find("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"), std::string::npos);
  // The count of rows the page itself reports (it checks its own rendering).
  EXPECT_NE(dom.find("data-rows=\"11\""), std::string::npos);
}
