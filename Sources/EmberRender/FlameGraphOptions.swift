/// How `FlameGraph.render` draws a profile. The defaults match flamegraph.pl's.
public struct FlameGraphOptions: Sendable, Equatable {
    /// The heading. When left at the default and `inverted` is set, "Icicle Graph" is shown instead.
    public var title = "Flame Graph"
    /// A second, smaller heading line under the title.
    public var subtitle: String? = nil
    /// Image width in pixels (at least 40).
    public var width = 1200
    /// Height of one frame row in pixels (at least 1).
    public var frameHeight = 16
    /// Font size in pixels (at least 1).
    public var fontSize = 12
    /// Frames narrower than this many pixels are omitted, like flamegraph.pl's `--minwidth`.
    public var minWidth: Double = 0.1
    /// Icicle graph: the root at the top and stacks growing downwards.
    public var inverted = false
    /// How frame colours are chosen.
    public var palette: FlameGraphPalette = .hot
    /// The unit of the weights, as in "1,234 samples".
    public var countName = "samples"
    /// The search ignores case, as `flamegraph.pl --ignorecase` makes it.
    public var searchIgnoresCase = true
    /// A differential graph drawn in the BEFORE profile's shape (`--negate`): the profile's weights are BEFORE's
    /// and its baseline AFTER's, and the colours and titles still tell how AFTER changed.
    public var negated = false
    /// A differential graph colours each frame by the change of its own (self) share of each profile's total, in
    /// percentage points, as difffolded does; a change smaller than `diffThreshold` points is neutral. With
    /// `diffInclusive`, by the change of its inclusive weight instead (a parent reddens when any leaf grew).
    public var diffInclusive = false
    public var diffThreshold = 0.1

    public init() {}

    /// The default title, replaced by "Icicle Graph" for inverted graphs.
    static let defaultTitle = "Flame Graph"

    /// The title actually shown.
    var effectiveTitle: String {
        inverted && title == Self.defaultTitle ? "Icicle Graph" : title
    }
}
