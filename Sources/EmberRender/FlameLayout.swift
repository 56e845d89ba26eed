/// The geometry of one flame graph image: paddings, row positions and the pixels-per-weight scale.
///
/// Rows are `frameHeight` apart with a 1 px gap; the title band sits on top and the details line at the
/// bottom, whichever way the graph grows.
struct FlameLayout {
    let width: Int
    let frameHeight: Int
    let fontSize: Int
    let inverted: Bool
    let minWidth: Double
    /// Left and right margin.
    let xPad = 10
    /// Space above the frames: title, and subtitle if any.
    let topPad: Int
    /// Space below the frames: the details line, and the legend's if any.
    let bottomPad: Int
    /// A line under the details naming what each colour means (`--colors kind`).
    let legend: Bool
    /// Width of one label character, approximately, for a proportional font.
    let charWidth: Double
    /// Pixels per weight unit.
    let scale: Double
    /// Rows of frames drawn (deepest visible depth + 1).
    let rows: Int

    init(options: FlameGraphOptions, total: UInt64, rows: Int, legend: Bool = false) {
        width = max(options.width, 40)
        frameHeight = max(options.frameHeight, 1)
        fontSize = max(options.fontSize, 1)
        inverted = options.inverted
        minWidth = options.minWidth.isNaN ? 0 : options.minWidth
        topPad = fontSize * 3 + (options.subtitle == nil ? 0 : fontSize * 2)
        self.legend = legend
        bottomPad = fontSize * 2 + 10 + (legend ? fontSize * 2 : 0)
        charWidth = Double(fontSize) * 0.59
        scale = total == 0 ? 0 : Double(width - 2 * xPad) / Double(total)
        self.rows = rows
    }

    /// Width available to frames.
    var span: Int { width - 2 * xPad }

    var height: Int { topPad + rows * frameHeight + bottomPad }

    /// The width in pixels of a frame of `weight`.
    func pixels(_ weight: UInt64) -> Double { Double(weight) * scale }

    /// Whether a frame of `weight` is drawn at all.
    func isVisible(_ weight: UInt64) -> Bool { weight > 0 && pixels(weight) >= minWidth }

    /// Top edge of the row at `depth` (0 is the root).
    func y(depth: Int) -> Int {
        inverted ? topPad + depth * frameHeight : height - bottomPad - (depth + 1) * frameHeight
    }

    /// Baseline of a label in the row whose top is `top`, vertically centred.
    func labelBaseline(top: Int) -> Double {
        Double(top) + Double(frameHeight - 1) / 2 + Double(fontSize) * 0.35
    }

    /// Baseline of the title line.
    var titleBaseline: Int { fontSize * 2 }

    /// Baseline of the subtitle line.
    var subtitleBaseline: Int { fontSize * 4 }

    /// Baseline of the details and "Matched" line.
    var detailsBaseline: Int { height - bottomPad + (fontSize * 2 + 10) / 2 }

    /// Baseline of the legend line, under the details.
    var legendBaseline: Int { height - fontSize / 2 - 4 }

    /// The label that fits a frame `pixels` wide: the whole name, a prefix ending in "..", or nil when fewer
    /// than 3 characters fit. Characters are Unicode scalars, as in the script's `fit` (JavaScript code points).
    func label(_ name: String, pixels: Double) -> String? {
        let room = (pixels - 3) / charWidth
        guard room >= 3 else { return nil }
        let fits = room >= 1e9 ? 1_000_000_000 : Int(room)
        if name.utf8.count <= fits { return name }  // scalars never outnumber bytes
        let scalars = name.unicodeScalars
        // Truncate only if the name has more than `fits` scalars: keep `fits - 2` of them and add "..".
        guard let cut = scalars.index(scalars.startIndex, offsetBy: fits - 2, limitedBy: scalars.endIndex),
              let end = scalars.index(cut, offsetBy: 2, limitedBy: scalars.endIndex), end != scalars.endIndex
        else { return name }
        var truncated = ""
        truncated.unicodeScalars.append(contentsOf: scalars[..<cut])
        return truncated + ".."
    }
}
