import EmberReplay
import EmberStacks

/// Renders folded stacks as an interactive flame graph: one self-contained SVG (inline style and script, no
/// network), in the manner of Brendan Gregg's flamegraph.pl.
///
/// Layout: a synthetic "all" root spans the width; each frame sits on its parent, as wide as its inclusive weight;
/// children are merged by name and ordered by name, left to right, packed from the parent's left edge. Frames
/// narrower than `minWidth` are omitted. The output depends only on the input (no hashing seeds, no locale, no
/// dates), so equal profiles give byte-identical SVGs.
public enum FlameGraph {
    /// The SVG document for `profile`. An empty profile (or one whose weights are all 0) gives a small SVG
    /// saying "No stack counts found".
    public static func render(_ profile: FoldedProfile, options: FlameGraphOptions) -> String {
        render(FlameTree(profile), kinds: profile.kinds, scale: profile.scale, options: options)
    }

    private static func render(_ tree: FlameTree, kinds: [String: FrameKind], scale: UInt64, options: FlameGraphOptions) -> String {
        guard tree.total > 0 else { return renderEmpty(options: options) }

        // First pass: how deep the visible frames go, and roughly how much text they need.
        let probe = FlameLayout(options: options, total: tree.total, rows: 0)
        var deepest = -1
        var visible = 0
        var nameBytes = 0
        for i in 0..<tree.count where probe.isVisible(tree.weights[i]) {
            deepest = max(deepest, Int(tree.depths[i]))
            visible += 1
            nameBytes += tree.names[i].utf8.count
        }
        // A wall-clock profile colours what is all off-CPU apart, and says so.
        let offCPU = tree.isDifferential ? [] : tree.weights(endingIn: Collapser.offCPUFrame)
        let layout = FlameLayout(options: options, total: tree.total, rows: deepest + 1,
                                 legend: (options.palette == .kind || !offCPU.isEmpty) && !tree.isDifferential)

        var svg = SVGWriter(capacity: 16_384 + visible * (240 + options.countName.utf8.count) + nameBytes * 2)
        writeHeader(&svg, layout: layout, options: options, interactive: true)
        writeFrames(&svg, tree: tree, layout: layout, options: options, kinds: kinds, scale: scale, offCPU: offCPU)
        if layout.legend { writeLegend(&svg, layout: layout, palette: options.palette, offCPU: !offCPU.isEmpty) }
        writeScript(&svg, layout: layout, total: tree.total, ignoreCase: options.searchIgnoresCase)
        svg.raw("</svg>\n")
        return svg.output
    }

    /// What the colours mean, one swatch each, on the bottom line: the kinds of `--colors kind`, and on- and
    /// off-CPU time in a wall-clock profile.
    static func writeLegend(_ svg: inout SVGWriter, layout: FlameLayout, palette: FlameGraphPalette, offCPU: Bool) {
        var entries: [(String, String)] = []
        if palette == .kind {
            entries = [(FrameKind.application, "the program"), (.library, "shared libraries"), (.kernel, "kernel"), (.unknown, "unknown")]
                .map { (FlameGraphPalette.legendFill($0.0), $0.1) }
        } else if offCPU {
            entries = [(palette.fill(for: "on-CPU", kind: nil), "on-CPU")]
        }
        if offCPU { entries.append((FlameGraphPalette.blue.fill(for: "off-CPU", kind: nil), "off-CPU (blocked, by time)")) }
        let box = layout.fontSize
        var x = Double(layout.xPad)
        svg.raw("<g id=\"legend\">\n")
        for (fill, label) in entries {
            svg.raw("<rect x=\"")
            svg.fixed(x, decimals: 2, trim: true)
            svg.raw("\" y=\"\(layout.legendBaseline - box + 2)\" width=\"\(box)\" height=\"\(box)\" fill=\"")
            svg.raw(fill)
            svg.raw("\"/><text x=\"")
            svg.fixed(x + Double(box) + 4, decimals: 2, trim: true)
            svg.raw("\" y=\"\(layout.legendBaseline)\">")
            svg.escaped(label)
            svg.raw("</text>\n")
            x += Double(box) + 4 + Double(label.count) * layout.charWidth + 2 * Double(box)
        }
        svg.raw("</g>\n")
    }

    static func renderEmpty(options: FlameGraphOptions) -> String {
        let layout = FlameLayout(options: options, total: 0, rows: 0)
        var svg = SVGWriter(capacity: 4_096)
        writeHeader(&svg, layout: layout, options: options, interactive: false)
        svg.raw("<text id=\"empty\" x=\"\(layout.width / 2)\" y=\"\(layout.topPad + layout.fontSize)\">")
        svg.raw("No stack counts found</text>\n</svg>\n")
        return svg.output
    }

    /// The XML declaration, `<svg>` element, style, background, title and the text lines the script drives.
    static func writeHeader(_ svg: inout SVGWriter, layout: FlameLayout, options: FlameGraphOptions,
                            interactive: Bool) {
        let width = layout.width, height = layout.height, fontSize = layout.fontSize
        svg.raw("""
            <?xml version="1.0" encoding="UTF-8"?>
            <svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" \
            viewBox="0 0 \(width) \(height)">
            <!-- Flame graph by Ember. Hover for details, click a frame to zoom, Ctrl-F to search, Escape to reset. -->
            <defs>
            <linearGradient id="background" x1="0" y1="0" x2="0" y2="1">
            <stop stop-color="#eeeeee" offset="5%"/><stop stop-color="#eeeeb0" offset="95%"/>
            </linearGradient>
            </defs>
            <style type="text/css"><![CDATA[
            text { font-family: Verdana, "DejaVu Sans", sans-serif; font-size: \(fontSize)px; fill: rgb(0,0,0); }
            #title, #subtitle, #empty { text-anchor: middle; }
            #title { font-size: \(fontSize + 5)px; }
            #subtitle { fill: rgb(96,96,96); }
            #search, #matched { text-anchor: end; }
            #search, #unzoom { cursor: pointer; }
            #search:hover, #unzoom:hover { text-decoration: underline; }
            #frames > g { cursor: pointer; }
            #frames > g:hover > rect { stroke: rgb(0,0,0); stroke-width: 0.5; }
            .dim { opacity: 0.5; }
            .hide { display: none; }
            ]]></style>
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="url(#background)"/>

            """)
        svg.raw("<text id=\"title\" x=\"\(width / 2)\" y=\"\(layout.titleBaseline)\">")
        svg.escaped(options.effectiveTitle)
        svg.raw("</text>\n")
        if let subtitle = options.subtitle {
            svg.raw("<text id=\"subtitle\" x=\"\(width / 2)\" y=\"\(layout.subtitleBaseline)\">")
            svg.escaped(subtitle)
            svg.raw("</text>\n")
        }
        guard interactive else { return }
        let right = width - layout.xPad
        svg.raw("""
            <text id="details" x="\(layout.xPad)" y="\(layout.detailsBaseline)">&#160;</text>
            <text id="unzoom" class="hide" x="\(layout.xPad)" y="\(layout.titleBaseline)">Reset Zoom</text>
            <text id="search" x="\(right)" y="\(layout.titleBaseline)">Search</text>
            <text id="matched" x="\(right)" y="\(layout.detailsBaseline)">&#160;</text>

            """)
    }

    /// How each frame's own (self) share of its profile's total changed, AFTER's less BEFORE's, in percentage
    /// points (a graph drawn in BEFORE's shape, `negated`, still tells how AFTER changed).
    static func selfPointChanges(_ tree: FlameTree, negated: Bool) -> [Double] {
        let after = tree.selfWeights(tree.weights), before = tree.selfWeights(tree.before)
        let afterTotal = Double(max(tree.total, 1)), beforeTotal = Double(max(tree.before.first ?? 1, 1))
        return (0..<tree.count).map { i in
            let change = Double(after[i]) * 100 / afterTotal - Double(before[i]) * 100 / beforeTotal
            return negated ? -change : change
        }
    }

    /// One `<g data-x data-w><title/><rect/><text/></g>` line per visible frame, in pre-order.
    /// `data-x` and `data-w` are the frame's start and width in weight units, for the script's exact zoom.
    /// A differential tree colours each frame by how its weight changed (red grew, blue shrank, the largest change
    /// the strongest) and its title gives the weight before and the change; weights in 1/`scale` units print with
    /// decimals.
    /// `offCPU`: each frame's weight in off-CPU stacks (a wall-clock profile): a frame that is all off-CPU is blue,
    /// and a frame that is partly says how much in its title.
    static func writeFrames(_ svg: inout SVGWriter, tree: FlameTree, layout: FlameLayout,
                            options: FlameGraphOptions, kinds: [String: FrameKind], scale: UInt64 = 1, offCPU: [UInt64] = []) {
        func count(_ value: UInt64) {
            guard scale > 1 else { return svg.grouped(value) }
            svg.fixed(Double(value) / Double(scale), decimals: String(scale).count - 1, trim: true)
        }
        // The root's change is the totals'; the frames' shade against the largest change among them.
        let largestChange = tree.isDifferential ? (1..<max(tree.count, 1)).lazy.map { tree.change($0).magnitude }.max() ?? 0 : 0
        // By default a frame's colour is the change of its own share of each profile's total, in points.
        let points = tree.isDifferential && !options.diffInclusive ? selfPointChanges(tree, negated: options.negated) : []
        let largestPoints = points.dropFirst().map(\.magnitude).max() ?? 0
        var countSuffix = SVGWriter(capacity: options.countName.utf8.count + 8)
        countSuffix.raw(" ")
        countSuffix.escaped(options.countName)
        countSuffix.raw(", ")
        let afterCount = countSuffix.output
        let rectHeight = "\" height=\"\(layout.frameHeight - 1)\" fill=\""
        let percentScale = 100 / Double(tree.total)
        let palette = options.palette

        svg.raw("<g id=\"frames\">\n")
        for i in 0..<tree.count {
            let weight = tree.weights[i]
            guard layout.isVisible(weight) else { continue }
            let name = tree.names[i]
            let offset = tree.offsets[i]
            let x = Double(layout.xPad) + layout.pixels(offset)
            let width = layout.pixels(weight)
            let top = layout.y(depth: Int(tree.depths[i]))

            svg.raw("<g data-x=\"")
            svg.int(offset)
            svg.raw("\" data-w=\"")
            svg.int(weight)
            svg.raw("\"><title>")
            svg.escaped(name)
            svg.raw(" (")
            count(weight)
            svg.raw(afterCount)
            svg.fixed(Double(weight) * percentScale, decimals: 2, trim: false)
            svg.raw("%")
            if !offCPU.isEmpty, offCPU[i] > 0, offCPU[i] < weight {
                svg.raw("; off-CPU ")
                svg.fixed(Double(offCPU[i]) * 100 / Double(weight), decimals: 1, trim: false)
                svg.raw("%")
            }
            if tree.isDifferential {
                let change = options.negated ? 0 &- tree.change(i) : tree.change(i)
                svg.raw(options.negated ? "; after " : "; before ")
                count(tree.before[i])
                if !points.isEmpty, tree.before[0] > 0 {
                    svg.raw(", ")
                    svg.fixed(Double(tree.before[i]) * 100 / Double(tree.before[0]), decimals: 2, trim: false)
                    svg.raw("%; its own share ")
                    svg.raw(points[i] >= 0 ? "+" : "-")
                    svg.fixed(points[i].magnitude, decimals: 2, trim: false)
                    svg.raw(" points")
                } else {
                    svg.raw(", change ")
                    svg.raw(change >= 0 ? "+" : "-")
                    count(change.magnitude)
                }
            }
            svg.raw(")</title><rect x=\"")
            svg.fixed(x, decimals: 2, trim: true)
            svg.raw("\" y=\"")
            svg.int(top)
            svg.raw("\" width=\"")
            svg.fixed(width, decimals: 2, trim: true)
            svg.raw(rectHeight)
            if !points.isEmpty {
                svg.raw(FlameGraphPalette.differentialFill(change: points[i], largest: largestPoints, threshold: options.diffThreshold))
            } else if tree.isDifferential {
                let change = tree.change(i)
                svg.raw(FlameGraphPalette.differentialFill(change: Double(options.negated ? 0 &- change : change), largest: Double(largestChange), threshold: 1))
            } else if !offCPU.isEmpty, i > 0, offCPU[i] == weight {
                svg.raw(FlameGraphPalette.blue.fill(for: name, kind: nil))
            } else {
                // The root is no code: it keeps the default colour under `--colors kind`.
                svg.raw(i == 0 && palette == .kind ? FlameGraphPalette.hot.fill(for: name, kind: nil)
                                                   : palette.fill(for: name, kind: palette == .kind ? kinds[name] : nil))
            }
            svg.raw("\" rx=\"2\" ry=\"2\"/><text x=\"")
            svg.fixed(x + 3, decimals: 2, trim: true)
            svg.raw("\" y=\"")
            svg.fixed(layout.labelBaseline(top: top), decimals: 2, trim: true)
            svg.raw("\">")
            if let label = layout.label(name, pixels: width) {
                svg.escaped(label)
            }
            svg.raw("</text></g>\n")
        }
        svg.raw("</g>\n")
    }
}
