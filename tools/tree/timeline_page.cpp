#include "timeline_page.hpp"

namespace cellos::telemetry::tree {
namespace {

// Everything inline: the page must open from a file on a machine with no network, and must not
// tell anyone it was opened.
constexpr const char* kHead = R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>cellos-telemetry-tree: )page";

constexpr const char* kStyle = R"page(</title>
<style>
body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 16px; margin: 0 0 4px; }
#summary { margin: 0 0 8px; color: #444; }
#legend span { display: inline-block; margin-right: 14px; }
#legend i { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
  vertical-align: -2px; border-radius: 2px; }
svg { display: block; margin-top: 8px; }
text { font: 12px ui-monospace, monospace; fill: #222; white-space: pre; }
.axis text { fill: #666; font-size: 11px; }
.axis line { stroke: #e4e4e4; }
.row:hover .band { fill: #f0f4ff; }
.band { fill: transparent; }
.bar { rx: 2px; }
.ok .bar, i.ok { fill: #4c9a2a; background: #4c9a2a; }
.failed .bar, i.failed { fill: #d9534f; background: #d9534f; }
.signal .bar, i.signal { fill: #b03060; background: #b03060; }
.segfault .bar, i.segfault { fill: #e67e22; background: #e67e22; }
.oom .bar, i.oom { fill: #8e44ad; background: #8e44ad; }
.running .bar, i.running { fill: #3a7bd5; background: #3a7bd5; }
.unknown .bar, i.unknown { fill: #9a9a9a; background: #9a9a9a; }
.failed .label, .signal .label, .segfault .label, .oom .label { fill: #a02020; }
.lost line { stroke: #d9534f; stroke-width: 2px; stroke-dasharray: 4 3; }
.lost text { fill: #d9534f; font-size: 11px; }
.open { fill: #3a7bd5; }
</style>
</head>
<body>
<h1>)page";

constexpr const char* kBody = R"page(</h1>
<p id="summary"></p>
<div id="legend">
<span><i class="ok"></i>exit 0</span><span><i class="failed"></i>exit code other than 0</span>
<span><i class="signal"></i>killed by a signal</span><span><i class="segfault"></i>segfault</span>
<span><i class="oom"></i>OOM-killed</span><span><i class="running"></i>still running</span>
<span><i class="unknown"></i>status unknown</span>
</div>
<div id="chart"></div>
<script type="application/json" id="tree-data">)page";

// Text goes into the SVG with textContent only: the guest's bytes never become markup.
constexpr const char* kScript = R"page(</script>
<script>
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('tree-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var ROW = 18, TOP = 26, LABEL = 440, BAR = 900, CH = 7.3;
  var width = LABEL + BAR + 50, height = TOP + data.rows.length * ROW + 10;
  var scale = BAR / data.span;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, attrs, s) {
    var t = el('text', attrs, parent);
    t.textContent = s;
    return t;
  }
  function seconds(ns, step) {
    var digits = step >= 1e9 ? 0 : step >= 1e8 ? 1 : step >= 1e7 ? 2 : 3;
    return (ns / 1e9).toFixed(digits) + 's';
  }

  document.getElementById('summary').textContent = data.summary;
  var svg = el('svg', {width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
                       'data-rows': data.rows.length});

  // The time axis: about ten ticks at 1, 2 or 5 times a power of ten.
  var axis = el('g', {'class': 'axis'}, svg);
  var raw = data.span / 10, pow = Math.pow(10, Math.floor(Math.log10(raw)));
  var step = [1, 2, 5, 10].map(function (m) { return m * pow; })
                          .filter(function (s) { return s >= raw; })[0];
  for (var t = 0; t <= data.span; t += step) {
    var x = LABEL + t * scale;
    el('line', {x1: x, x2: x, y1: TOP - 6, y2: height}, axis);
    text(axis, {x: x + 2, y: TOP - 10}, '+' + seconds(t, step));
  }

  data.rows.forEach(function (r, i) {
    var y = TOP + i * ROW;
    var g = el('g', {'class': 'row ' + r.cls, 'data-pid': r.pid}, svg);
    el('title', {}, g).textContent = r.tip;
    el('rect', {'class': 'band', x: 0, y: y, width: width, height: ROW}, g);
    var indent = 4 + r.depth * 14;
    var room = Math.max(4, Math.floor((LABEL - indent - 8) / CH));
    var label = r.label.length > room ? r.label.slice(0, room - 1) + '\u2026' : r.label;
    text(g, {'class': 'label', x: indent, y: y + 13}, label);
    var x0 = LABEL + r.start * scale;
    var w = Math.max(2, (r.end - r.start) * scale);
    el('rect', {'class': 'bar', x: x0, y: y + 3, width: w, height: ROW - 6}, g);
    if (r.before) text(g, {x: x0 - 10, y: y + 13}, '\u25c0');
    if (r.cls === 'running') {
      el('polygon', {'class': 'open', points: (x0 + w) + ',' + (y + 2) + ' ' + (x0 + w + 7) +
                     ',' + (y + ROW / 2) + ' ' + (x0 + w) + ',' + (y + ROW - 2)}, g);
    }
  });

  data.lost.forEach(function (l) {
    var g = el('g', {'class': 'lost'}, svg);
    var x = LABEL + l.at * scale;
    el('title', {}, g).textContent = l.text;
    el('line', {x1: x, x2: x, y1: TOP - 4, y2: height}, g);
    text(g, {x: x + 3, y: height - 2}, 'lost');
  });
  document.getElementById('chart').appendChild(svg);
})();
</script>
</body>
</html>
)page";

}  // namespace

std::string timeline_page(const std::string& title_html, const std::string& data_json) {
  return std::string(kHead) + title_html + kStyle + title_html + kBody + data_json + kScript;
}

}  // namespace cellos::telemetry::tree
