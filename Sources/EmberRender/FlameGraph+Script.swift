import EmberKernel

extension FlameGraph {
    /// Appends the interactive script: hover details, click-to-zoom, Reset Zoom, regex search with "Matched: X%"
    /// (ignoring case unless asked not to), Ctrl-F/F3 to search and Escape to reset. It reads everything it needs
    /// from the frames' markup, so only a few numbers are generated; the rest is the fixed `scriptBody`.
    /// A flame chart (`axis`) zooms its time axis instead: every lane shows the clicked frame's time, and the ticks
    /// are redrawn; "Matched" is then the share of the sampled time.
    static func writeScript(_ svg: inout SVGWriter, layout: FlameLayout, total: UInt64, ignoreCase: Bool,
                            axis: FlameChart.TimeAxis? = nil) {
        svg.raw("<script type=\"text/ecmascript\"><![CDATA[\n(function () {\n  \"use strict\";\n  var W = ")
        svg.int(layout.width)
        svg.raw(", XPAD = ")
        svg.int(layout.xPad)
        svg.raw(", CW = ")
        svg.fixed(layout.charWidth, decimals: 4, trim: true)
        svg.raw(", TOTAL = ")
        svg.int(total)
        svg.raw(", INVERTED = ")
        svg.raw(layout.inverted ? "true" : "false")
        svg.raw(", FLAGS = ")
        svg.raw(ignoreCase ? "\"i\"" : "\"\"")
        svg.raw(", CHART = ")
        if let axis {
            svg.raw("{ extent: \(axis.extent), top: \(axis.top), bottom: \(axis.bottom), steps: [")
            svg.raw(timeAxisSteps.map { SVGWriter.fixed($0, decimals: 6, trim: true) }.joined(separator: ","))
            svg.raw("] }")
        } else {
            svg.raw("null")
        }
        svg.raw(";\n")
        svg.raw(scriptBody)
        svg.raw("]]></script>\n")
    }

    /// The script after its generated first line; it must never contain "]]>".
    static let scriptBody = #"""
  var SPAN = W - 2 * XPAD, HIGHLIGHT = "rgb(230,0,230)", BLANK = "\u00a0";
  function byId(id) { return document.getElementById(id); }
  var details = byId("details"), matched = byId("matched"), searchButton = byId("search"),
      unzoomButton = byId("unzoom"), framesGroup = byId("frames");
  var frames = [], index = new Map(), searching = false;

  function commas(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }

  // Each frame is <g data-x data-w><title/><rect/><text/></g>; x and w are in weight units (a chart's: ns from
  // the first sample, and data-l its lane).
  Array.prototype.forEach.call(framesGroup.children, function (g) {
    var title = g.children[0].textContent, rect = g.children[1], w = Number(g.getAttribute("data-w"));
    var cut = title.lastIndexOf(" (" + commas(w) + " ");
    if (cut < 0) { var m = / \(\d+ samples?, /.exec(title); cut = m ? m.index : title.lastIndexOf(" ("); }
    index.set(g, frames.length);
    frames.push({ g: g, rect: rect, label: g.children[2], title: title, name: title.slice(0, cut),
                  x: Number(g.getAttribute("data-x")), w: w, y: Number(rect.getAttribute("y")),
                  l: Number(g.getAttribute("data-l")), fill: rect.getAttribute("fill") });
  });

  // The label that fits w pixels: the name, a prefix ending in "..", or nothing.
  function fit(name, w) {
    var room = Math.floor((w - 3) / CW);
    if (room < 3) return "";
    if (name.length <= room) return name;
    var chars = Array.from(name);
    return chars.length <= room ? name : chars.slice(0, room - 2).join("") + "..";
  }

  function place(f, x, w) {
    f.rect.setAttribute("x", x.toFixed(2));
    f.rect.setAttribute("width", w.toFixed(2));
    f.label.setAttribute("x", (x + 3).toFixed(2));
    f.label.textContent = fit(f.name, w);
  }

  // Is f further from the root than z?
  function deeper(f, z) { return INVERTED ? f.y > z.y : f.y < z.y; }

  // A chart's axis from x0 over w ns: ticks at round seconds, each with a faint line down through the lanes.
  function drawAxis(x0, w) {
    var axis = byId("axis"), ns = document.documentElement.namespaceURI;
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var step = CHART.steps.find(function (s) { return w / 1e9 / s <= 10; }) || w / 1e10;
    var decimals = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
    for (var i = 0, t = Math.ceil(x0 / 1e9 / step) * step; t * 1e9 <= x0 + w && i < 50; i++, t += step) {
      var x = XPAD + (t * 1e9 - x0) * SPAN / w, line = document.createElementNS(ns, "line"),
          text = document.createElementNS(ns, "text");
      line.setAttribute("x1", x.toFixed(2)); line.setAttribute("x2", x.toFixed(2));
      line.setAttribute("y1", CHART.top); line.setAttribute("y2", CHART.bottom);
      line.setAttribute("stroke", "rgb(200,200,200)"); line.setAttribute("stroke-width", "0.5");
      text.setAttribute("x", (x + 2).toFixed(2)); text.setAttribute("y", CHART.top - 4);
      text.textContent = t.toFixed(decimals) + (i === 0 ? " s" : "");
      axis.appendChild(line);
      axis.appendChild(text);
    }
  }

  // A chart shows x0 to x0 + w ns across the width, in every lane.
  function zoomTime(x0, w) {
    var scale = SPAN / w;
    frames.forEach(function (f) {
      var a = Math.max(f.x, x0), b = Math.min(f.x + f.w, x0 + w), shown = (b - a) * scale >= 0.1;
      f.g.classList.toggle("hide", !shown);
      if (shown) place(f, XPAD + (a - x0) * scale, (b - a) * scale);
    });
    drawAxis(x0, w);
  }

  // z fills the width; its ancestors stay, dimmed, at full width; everything else is hidden.
  function zoom(z) {
    unzoomButton.classList.remove("hide");
    if (CHART) return zoomTime(z.x, z.w);
    var scale = SPAN / z.w;
    frames.forEach(function (f) {
      var inside = f.x >= z.x && f.x + f.w <= z.x + z.w && !deeper(z, f);
      var ancestor = f.x <= z.x && f.x + f.w >= z.x + z.w && deeper(z, f);
      f.g.classList.toggle("hide", !inside && !ancestor);
      f.g.classList.toggle("dim", ancestor);
      if (inside) place(f, XPAD + (f.x - z.x) * scale, f.w * scale);
      else if (ancestor) place(f, XPAD, SPAN);
    });
  }

  function unzoom() {
    unzoomButton.classList.add("hide");
    if (CHART) return zoomTime(0, CHART.extent);
    var scale = SPAN / TOTAL;
    frames.forEach(function (f) {
      f.g.classList.remove("hide", "dim");
      place(f, XPAD + f.x * scale, f.w * scale);
    });
  }

  // Highlights frames whose name matches; "Matched" counts each sample once, however many matches nest.
  function search(term) {
    var re;
    try { re = new RegExp(term, FLAGS); } catch (e) { matched.textContent = "Invalid regex: " + term; return; }
    var hits = frames.filter(function (f) {
      var hit = re.test(f.name);
      f.rect.setAttribute("fill", hit ? HIGHLIGHT : f.fill);
      return hit;
    });
    hits.sort(function (a, b) { return a.l - b.l || a.x - b.x || b.w - a.w; });
    var sum = 0, end = -Infinity, lane = null;
    hits.forEach(function (f) {
      if (f.l !== lane) { lane = f.l; end = -Infinity; }
      if (f.x + f.w > end) { sum += f.x + f.w - Math.max(f.x, end); end = f.x + f.w; }
    });
    matched.textContent = "Matched: " + (100 * sum / TOTAL).toFixed(2) + "%";
    searchButton.textContent = "Reset Search";
    searching = true;
  }

  function resetSearch() {
    frames.forEach(function (f) { f.rect.setAttribute("fill", f.fill); });
    matched.textContent = BLANK;
    searchButton.textContent = "Search";
    searching = false;
  }

  function askSearch() {
    var term = window.prompt("Enter a search term (regexp allowed, eg: ^ext4_)", "");
    if (term) search(term);
  }

  function frameOf(event) {
    var g = event.target.closest ? event.target.closest("#frames > g") : null;
    return g ? frames[index.get(g)] : null;
  }

  framesGroup.addEventListener("click", function (e) { var f = frameOf(e); if (f) zoom(f); });
  framesGroup.addEventListener("mouseover", function (e) {
    var f = frameOf(e);
    if (f) details.textContent = "Function: " + f.title;
  });
  framesGroup.addEventListener("mouseout", function () { details.textContent = BLANK; });
  unzoomButton.addEventListener("click", unzoom);
  searchButton.addEventListener("click", function () { if (searching) resetSearch(); else askSearch(); });
  window.addEventListener("keydown", function (e) {
    if (e.key === "F3" || ((e.ctrlKey || e.metaKey) && e.key === "f")) {
      e.preventDefault();
      askSearch();
    } else if (e.key === "Escape") {
      resetSearch();
      unzoom();
    }
  });
})();

"""#
}
