import EmberKernel
import EmberStacks

/// FlameScope's view of a recording as one self-contained HTML page: a heat map whose columns are the seconds of
/// the recording and whose rows are the fifty 20 ms slices of each second (so a periodic stall lines up across
/// columns), coloured by samples; selecting a range of slices draws the flame graph of just that time below it, in
/// the page, with no server. The samples travel folded per slice: each slice's stacks with their counts.
public struct ScopeWriter {
    public var title: String
    public var subtitle: String

    public init(title: String, subtitle: String) {
        self.title = title
        self.subtitle = subtitle
    }

    /// Rows per column: 20 ms slices of each second.
    static let rows = 50
    static let maxColumns: UInt64 = 3600

    public func render(_ timed: TimedStacks) -> String {
        let first = timed.samples.map(\.time).min() ?? 0, last = timed.samples.map(\.time).max() ?? 0
        // At most an hour of columns (a corrupt time would ask for millions): later samples are left out, and said so.
        let seconds = (last - first) / 1_000_000_000
        let columns = Int(min(seconds, ScopeWriter.maxColumns - 1)) + 1
        var cells = [[Int32: Int]](repeating: [:], count: columns * ScopeWriter.rows)
        for sample in timed.samples where (sample.time - first) / 1_000_000_000 < UInt64(columns) {
            let offset = sample.time - first
            let cell = Int(offset / 1_000_000_000) * ScopeWriter.rows + Int(offset % 1_000_000_000 / 20_000_000)
            cells[cell][sample.stack, default: 0] += 1
        }
        // Frame names once, stacks as lists of their indices.
        var names: [String] = [], nameIndex: [Substring: Int] = [:]
        var stacks = "["
        for (i, stack) in timed.stacks.enumerated() {
            stacks += (i == 0 ? "[" : ",[") + stack.split(separator: ";").map { name -> String in
                if let known = nameIndex[name] { return String(known) }
                nameIndex[name] = names.count
                names.append(String(name))
                return String(names.count - 1)
            }.joined(separator: ",") + "]"
        }
        stacks += "]"
        var data = "{\"columns\":\(columns),\"start\":\(Double(first) / 1e9),\"samples\":\(timed.samples.count),\"names\":["
        data += names.map(jsonStringLiteral).joined(separator: ",") + "],\"stacks\":" + stacks + ",\"counts\":["
        data += cells.map { String($0.values.reduce(0, +)) }.joined(separator: ",") + "],\"cells\":["
        data += cells.map { cell in
            cell.isEmpty ? "0" : "[" + cell.sorted { $0.key < $1.key }.map { "\($0.key),\($0.value)" }.joined(separator: ",") + "]"
        }.joined(separator: ",") + "]}"
        let span = SVGWriter.fixed(Double(last - first) / 1e9, decimals: 2, trim: true)
            + (seconds >= ScopeWriter.maxColumns ? " (the map shows its first hour; pick a part with --time)" : "")
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(ScopeWriter.html(title))</title>
            <style>
            body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 13px; margin: 16px; color: #222; }
            h1 { font-size: 18px; margin: 0 0 4px 0; }
            #map rect.sel { stroke: #1040c0; stroke-width: 1.5; }
            #flame text { font-size: 11px; pointer-events: none; }
            #flame g:hover rect { stroke: #000; stroke-width: 0.5; }
            .note { color: #555; margin: 4px 0 8px 0; }
            </style></head>
            <body>
            <h1>\(ScopeWriter.html(title))</h1>
            <div class="note">\(ScopeWriter.html(subtitle)); \(timed.samples.count) samples over \(span) s</div>
            <div class="note">Each column is one second of the recording and each row a 20 ms slice of it, the first at the top; a slice's colour is its samples, from white (none) to deep red (the busiest, <span id="most"></span>). Drag from one slice to another (or click one, then shift-click another) for the flame graph of the time between them.</div>
            <svg id="map" xmlns="http://www.w3.org/2000/svg"></svg>
            <div id="range" class="note"></div>
            <div id="details" class="note">&nbsp;</div>
            <svg id="flame" xmlns="http://www.w3.org/2000/svg"></svg>
            <script>
            var DATA = \(data);
            \(ScopeWriter.script)</script>
            </body></html>

            """
    }

    static func html(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The page's script: the map, the selection and a small flame graph renderer (hover, click to zoom).
    static let script = #"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg", ROWS = 50, D = DATA;
  var map = document.getElementById("map"), flame = document.getElementById("flame");
  var rangeText = document.getElementById("range"), details = document.getElementById("details");
  var CW = Math.max(6, Math.min(24, Math.floor(1100 / D.columns))), CH = 9, LEFT = 56, TOP = 8;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  var most = Math.max.apply(null, D.counts.concat([1]));
  document.getElementById("most").textContent = most + " samples";
  function heat(n) {
    if (n === 0) return "rgb(255,255,255)";
    var s = n / most;
    return "rgb(255," + Math.round(235 - 200 * s) + "," + Math.round(225 - 215 * s) + ")";
  }
  map.setAttribute("width", LEFT + D.columns * CW + 20);
  map.setAttribute("height", TOP + ROWS * CH + 34);
  var cells = [];
  for (var c = 0; c < D.columns; c++) {
    for (var r = 0; r < ROWS; r++) {
      var i = c * ROWS + r;
      var rect = el("rect", { x: LEFT + c * CW, y: TOP + r * CH, width: CW - 1, height: CH - 1, fill: heat(D.counts[i]), "data-i": i }, map);
      el("title", {}, rect).textContent = c + " s + " + r * 20 + "-" + (r + 1) * 20 + " ms: " + D.counts[i] + (D.counts[i] === 1 ? " sample" : " samples");
      cells.push(rect);
    }
  }
  [0, 25, 49].forEach(function (r) {
    el("text", { x: LEFT - 6, y: TOP + r * CH + CH - 1, "text-anchor": "end", "font-size": 10 }, map).textContent = r * 20 + " ms";
  });
  var step = Math.max(1, Math.ceil(D.columns / 20));
  for (var s = 0; s < D.columns; s += step) {
    el("text", { x: LEFT + s * CW + CW / 2, y: TOP + ROWS * CH + 12, "text-anchor": "middle", "font-size": 10 }, map).textContent = s;
  }
  el("text", { x: LEFT + D.columns * CW / 2, y: TOP + ROWS * CH + 28, "text-anchor": "middle", "font-size": 11 }, map).textContent = "seconds from the first sample";

  var start = null, end = null, dragging = false;
  function paint() {
    var a = Math.min(start, end), b = Math.max(start, end);
    cells.forEach(function (rect, i) { rect.classList.toggle("sel", start !== null && i >= a && i <= b); });
  }
  function cellOf(e) { var i = e.target.getAttribute && e.target.getAttribute("data-i"); return i === null || i === undefined ? null : Number(i); }
  map.addEventListener("mousedown", function (e) {
    var i = cellOf(e);
    if (i === null) return;
    e.preventDefault();
    if (e.shiftKey && start !== null) { end = i; paint(); draw(); return; }
    start = end = i; dragging = true; paint();
  });
  map.addEventListener("mouseover", function (e) { var i = cellOf(e); if (dragging && i !== null) { end = i; paint(); } });
  window.addEventListener("mouseup", function () { if (dragging) { dragging = false; draw(); } });

  var root = null, zoomed = null, total = 0;
  function draw() {
    var a = start === null ? 0 : Math.min(start, end), b = start === null ? D.counts.length - 1 : Math.max(start, end);
    root = { name: "all", value: 0, children: new Map() };
    for (var i = a; i <= b; i++) {
      var cell = D.cells[i];
      if (!cell) continue;
      for (var k = 0; k < cell.length; k += 2) {
        var node = root, n = cell[k + 1];
        node.value += n;
        D.stacks[cell[k]].forEach(function (name) {
          var child = node.children.get(name);
          if (!child) { child = { name: D.names[name], value: 0, children: new Map() }; node.children.set(name, child); }
          child.value += n;
          node = child;
        });
      }
    }
    total = root.value;
    function at(i) { return (D.start + Math.floor(i / ROWS) + (i % ROWS) * 0.02).toFixed(3); }
    rangeText.textContent = (start === null ? "The whole recording" : "From " + at(a) + " s to " + (Number(at(b)) + 0.02).toFixed(3) + " s")
      + ": " + total + (total === 1 ? " sample" : " samples") + " (" + (100 * total / Math.max(D.samples, 1)).toFixed(2) + "% of all)";
    zoomed = root;
    render();
  }

  function colour(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return "rgb(" + (205 + h % 50) + "," + (h >> 8) % 180 + "," + (h >> 16) % 55 + ")";
  }
  function depth(node) { var d = 0; node.children.forEach(function (c) { d = Math.max(d, depth(c)); }); return d + 1; }
  function render() {
    while (flame.firstChild) flame.removeChild(flame.firstChild);
    var W = 1200, FH = 16, levels = depth(zoomed), H = levels * FH + 4;
    flame.setAttribute("width", W);
    flame.setAttribute("height", H);
    function place(node, x, level, width) {
      if (width < 0.5) return;
      var g = el("g", {}, flame), y = H - (level + 1) * FH;
      el("title", {}, g).textContent = node.name + " (" + node.value + (node.value === 1 ? " sample, " : " samples, ") + (100 * node.value / Math.max(total, 1)).toFixed(2) + "%)";
      el("rect", { x: x.toFixed(2), y: y, width: Math.max(0, width - 0.5).toFixed(2), height: FH - 1, fill: node === root ? "rgb(230,230,230)" : colour(node.name), rx: 2 }, g);
      var room = Math.floor((width - 4) / 6.6);
      if (room >= 3) el("text", { x: (x + 3).toFixed(2), y: y + 12 }, g).textContent = node.name.length <= room ? node.name : node.name.slice(0, room - 2) + "..";
      g.addEventListener("mouseover", function () { details.textContent = g.firstChild.textContent; });
      g.addEventListener("click", function () { zoomed = node === zoomed ? root : node; render(); });
      var cx = x;
      Array.from(node.children.values()).sort(function (p, q) { return p.name < q.name ? -1 : 1; }).forEach(function (child) {
        var w = width * child.value / Math.max(node.value, 1);
        place(child, cx, level + 1, w);
        cx += w;
      });
    }
    place(zoomed, 0, 0, W);
  }
  draw();
})();
"""#
}
