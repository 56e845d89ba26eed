import EmberKernel
import EmberReplay
import EmberStacks

/// A flame chart: each thread's samples along one time axis, a lane per thread, the stack hanging down from the
/// thread's name (as a browser's performance panel draws it). A frame spans the neighbouring samples that share it
/// and its callers; where the thread was not sampled (blocked, or not running) its lane is empty. 0 s is where the
/// first sample's time begins (for a clock sample, its period before it); hovering a frame gives its times,
/// clicking zooms the axis to it. The idle task (tid 0, one per CPU) is left out and counted.
public enum FlameChart {
    /// Lanes drawn: the busiest threads; the rest are counted in the subtitle.
    public static let maxLanes = 32

    /// What one sample stands for in time. `clock`: its weight is the nanoseconds of CPU time it counts
    /// (cpu-clock, task-clock), which it covers up to its time; otherwise the usual gap between a thread's samples.
    /// An off-CPU stack (ending in `[off-cpu]`) covers the time it was blocked, after its sample.
    public static func render(_ timed: TimedStacks, clock: Bool, options: FlameGraphOptions) -> String {
        let all = Self.lanes(timed, clock: clock)
        let lanes = all.filter { $0.thread.tid != 0 }
        let shown = Array(lanes.prefix(maxLanes))
        guard let origin = shown.lazy.compactMap({ $0.boxes.first?.start }).min(),
              let end = shown.lazy.compactMap({ $0.boxes.map(\.end).max() }).max(), end > origin
        else { return FlameGraph.renderEmpty(options: options) }
        var options = options
        var notes = ["\(lanes.count) thread\(lanes.count == 1 ? "" : "s") over " + SVGWriter.fixed(Double(end - origin) / 1e9, decimals: 2, trim: true)
                     + " s; 0 s is " + SVGWriter.fixed(Double(origin) / 1e9, decimals: 6, trim: false) + " s on perf's clock"]
        if lanes.count > shown.count {
            let rest = lanes.dropFirst(maxLanes).reduce(0) { $0 + $1.samples }
            notes.append("\(lanes.count - shown.count) quieter threads (\(rest) samples) not drawn: choose with --tid or --comms")
        }
        let idle = all.filter { $0.thread.tid == 0 }.reduce(0) { $0 + $1.samples }
        if idle > 0 { notes.append("the idle task's \(idle) samples left out") }
        options.subtitle = ((options.subtitle.map { [$0] } ?? []) + notes).joined(separator: ", ")
        // Rows: the axis's, then per lane a heading and its frames.
        let rows = 1 + shown.reduce(0) { $0 + 1 + $1.depth }
        let layout = FlameLayout(options: options, total: end - origin, rows: rows, legend: options.palette == .kind)
        var svg = SVGWriter(capacity: 16_384 + shown.reduce(0) { $0 + $1.boxes.count } * 260)
        FlameGraph.writeHeader(&svg, layout: layout, options: options, interactive: true)
        let lanesTop = layout.topPad + layout.frameHeight
        let axis = TimeAxis(origin: origin, extent: end - origin, top: lanesTop, bottom: layout.height - layout.bottomPad)
        writeAxis(&svg, axis: axis, layout: layout)

        // The time drawn on the CPU (the lanes' visible first frames), what a search's matches are a share of.
        var busy: UInt64 = 0
        var top = lanesTop
        var headings = SVGWriter(capacity: shown.count * 120)
        svg.raw("<g id=\"frames\">\n")
        for (index, lane) in shown.enumerated() {
            headings.raw("<text x=\"\(layout.xPad)\" y=\"")
            headings.fixed(layout.labelBaseline(top: top), decimals: 2, trim: true)
            headings.raw("\">")
            headings.escaped("\(lane.thread.name) \(lane.thread.pid)/\(lane.thread.tid): \(lane.samples) sample\(lane.samples == 1 ? "" : "s")")
            headings.raw("</text>\n")
            let framesTop = top + layout.frameHeight
            for box in lane.boxes {
                let drawn = writeBox(&svg, box, lane: index, name: lane.names[Int(box.name)], thread: lane.thread, layout: layout,
                                     axis: axis, top: framesTop + Int(box.depth) * layout.frameHeight, options: options, kinds: timed.kinds)
                if drawn, box.depth == 0 { busy = busy.saturatingAdd(box.end - box.start) }
            }
            top = framesTop + lane.depth * layout.frameHeight
        }
        svg.raw("</g>\n")
        svg.raw(headings.output)
        if layout.legend { FlameGraph.writeLegend(&svg, layout: layout, palette: options.palette, offCPU: false) }
        FlameGraph.writeScript(&svg, layout: layout, total: max(busy, 1), ignoreCase: options.searchIgnoresCase, axis: axis)
        svg.raw("</svg>\n")
        return svg.output
    }

    /// The time axis: nanoseconds from `origin` across the width, its ticks from `top` to `bottom`.
    struct TimeAxis {
        var origin: UInt64
        var extent: UInt64
        var top: Int
        var bottom: Int
    }

    /// One merged run of samples at one depth of a lane.
    struct Box {
        var depth: Int32
        var name: Int32
        var start: UInt64
        var end: UInt64
        var samples: Int
    }

    struct Lane {
        var thread: TimedStacks.Thread
        var names: [String]
        var boxes: [Box] = []
        var depth = 0
        var samples = 0
    }

    /// Lays each thread's samples out in time, busiest thread first.
    static func lanes(_ timed: TimedStacks, clock: Bool) -> [Lane] {
        // Frame names once; stacks as lists of name indices.
        var names: [String] = [], nameIndex: [Substring: Int32] = [:]
        let stacks: [[Int32]] = timed.stacks.map { stack in
            stack.split(separator: ";", omittingEmptySubsequences: false).map { name in
                if let known = nameIndex[name] { return known }
                nameIndex[name] = Int32(names.count)
                names.append(String(name))
                return Int32(names.count - 1)
            }
        }
        let blocked = nameIndex[Substring(Collapser.offCPUFrame)], truncated = nameIndex[Substring(FrameTable.truncatedName)]
        var byThread = [[TimedStacks.Sample]](repeating: [], count: timed.threads.count)
        for sample in timed.samples where byThread.indices.contains(Int(sample.thread)) && stacks.indices.contains(Int(sample.stack)) {
            byThread[Int(sample.thread)].append(sample)
        }
        for i in byThread.indices { byThread[i].sort { $0.time < $1.time } }
        // Without clock weights, a sample stands for the usual gap between a thread's samples.
        var gaps: [UInt64] = []
        for samples in byThread where samples.count > 1 {
            for i in 1..<samples.count where samples[i].time > samples[i - 1].time { gaps.append(samples[i].time - samples[i - 1].time) }
        }
        gaps.sort()
        let usual = gaps.isEmpty ? 1_000_000 : gaps[gaps.count / 2]

        var lanes: [Lane] = []
        for (thread, samples) in zip(timed.threads, byThread) where !samples.isEmpty {
            var lane = Lane(thread: thread, names: names)
            var open: [Box] = []
            var reached: UInt64 = 0
            func close(from depth: Int) {
                lane.boxes.append(contentsOf: open[depth...])
                open.removeSubrange(depth...)
            }
            // The stacks the unwinder took to the thread's entry, for the short ones to be placed under.
            let isShort = samples.map { sample -> Bool in
                let frames = stacks[Int(sample.stack)]
                return truncated != nil && frames.count > 2 && frames[1] == truncated
            }
            var previous: [Int32] = []
            var next = isShort.firstIndex(of: false) ?? samples.count
            for (i, sample) in samples.enumerated() {
                var frames = stacks[Int(sample.stack)]
                if isShort[i] {
                    if next < i { next = isShort[(i + 1)...].firstIndex(of: false) ?? samples.count }
                    frames = grafted(frames, onto: [previous, next < samples.count ? stacks[Int(samples[next].stack)] : []])
                } else {
                    previous = frames
                }
                let off = blocked != nil && frames.last == blocked
                let length = max(clock || off ? sample.weight : usual, 1)
                var start = off ? sample.time : sample.time &- min(length, sample.time)
                var stop = off ? sample.time &+ length : sample.time
                start = min(max(start, reached), .max - 1)
                if stop <= start { stop = start + 1 }
                // A gap longer than half a sample: the thread was elsewhere, and its frames end there.
                var shared = 0
                if start < reached || start - reached <= length / 2 {
                    while shared < min(open.count, frames.count), open[shared].name == frames[shared] { shared += 1 }
                }
                close(from: shared)
                for depth in 0..<shared {
                    open[depth].end = stop
                    open[depth].samples += 1
                }
                for depth in shared..<frames.count {
                    open.append(Box(depth: Int32(depth), name: frames[depth], start: start, end: stop, samples: 1))
                }
                lane.depth = max(lane.depth, frames.count)
                lane.samples += 1
                reached = stop
            }
            close(from: 0)
            lane.boxes.sort { $0.start != $1.start ? $0.start < $1.start : $0.depth < $1.depth }
            lanes.append(lane)
        }
        return lanes.sorted { $0.samples != $1.samples ? $0.samples > $1.samples : $0.thread.tid < $1.thread.tid }
    }

    /// A stack whose unwind stopped short (`root;[truncated];f;g`) put under the frames of the whole stack before
    /// or after it where its outermost known frame starts the longest run of matching frames, so that a DWARF
    /// recording's few short stacks do not break every frame above them. With no match, its `[truncated]` frame
    /// goes under the callers both neighbours share (the lost frames are somewhere below those); without both
    /// neighbours it stays as it is.
    static func grafted(_ frames: [Int32], onto neighbours: [[Int32]]) -> [Int32] {
        let known = frames[2...]
        var best: (stack: [Int32], depth: Int, run: Int)?
        for stack in neighbours {
            for depth in stack.indices where stack[depth] == known.first! {
                var run = 0
                while depth + run < stack.count, run < known.count, stack[depth + run] == known[known.startIndex + run] { run += 1 }
                if run > best?.run ?? 0 { best = (stack, depth, run) }
            }
        }
        if let best { return Array(best.stack[..<best.depth]) + known }
        guard neighbours.count == 2, let first = neighbours[0].first, first == frames[0], neighbours[1].first == first else { return frames }
        let shared = zip(neighbours[0], neighbours[1]).prefix { $0.0 == $0.1 }.map(\.0)
        return shared + frames[1...]
    }

    /// Seconds with as many decimals as the step between ticks needs.
    static func seconds(_ ns: UInt64, step: Double) -> String {
        var decimals = 0, scaled = step
        while scaled < 0.999, decimals < 6 {
            scaled *= 10
            decimals += 1
        }
        return SVGWriter.fixed(Double(ns) / 1e9, decimals: decimals, trim: false)
    }

    /// Ticks at round times with a faint line down through the lanes; the script redraws them when zoomed.
    static func writeAxis(_ svg: inout SVGWriter, axis: TimeAxis, layout: FlameLayout) {
        let step = timeAxisStep(Double(axis.extent) / 1e9)
        let stepNs = max(UInt64(exactly: (step * 1e9).rounded()) ?? axis.extent, 1)
        svg.raw("<g id=\"axis\">\n")
        var tick: UInt64 = 0
        while tick <= axis.extent {
            let x = Double(layout.xPad) + layout.pixels(tick)
            svg.raw("<line x1=\"")
            svg.fixed(x, decimals: 2, trim: true)
            svg.raw("\" x2=\"")
            svg.fixed(x, decimals: 2, trim: true)
            svg.raw("\" y1=\"\(axis.top)\" y2=\"\(axis.bottom)\" stroke=\"rgb(200,200,200)\" stroke-width=\"0.5\"/><text x=\"")
            svg.fixed(x + 2, decimals: 2, trim: true)
            svg.raw("\" y=\"\(axis.top - 4)\">")
            svg.raw(seconds(tick, step: step) + (tick == 0 ? " s" : ""))
            svg.raw("</text>\n")
            let (next, overflow) = tick.addingReportingOverflow(stepNs)
            if overflow { break }
            tick = next
        }
        svg.raw("</g>\n")
    }

    /// One frame: `data-x`/`data-w` in nanoseconds from the first sample, `data-l` its lane; the title gives its
    /// times, its share of the thread's samples and the thread.
    /// Frames narrower than `minWidth` at full width are left out (zooming does not bring them back); false then.
    static func writeBox(_ svg: inout SVGWriter, _ box: Box, lane: Int, name: String, thread: TimedStacks.Thread, layout: FlameLayout,
                         axis: TimeAxis, top: Int, options: FlameGraphOptions, kinds: [String: FrameKind]) -> Bool {
        let offset = box.start - axis.origin, width = box.end - box.start
        guard layout.isVisible(width) else { return false }
        let x = Double(layout.xPad) + layout.pixels(offset), pixels = layout.pixels(width)
        svg.raw("<g data-x=\"")
        svg.int(offset)
        svg.raw("\" data-w=\"")
        svg.int(width)
        svg.raw("\" data-l=\"")
        svg.int(lane)
        svg.raw("\"><title>")
        svg.escaped(name)
        svg.raw(" (\(box.samples) sample\(box.samples == 1 ? "" : "s"), ")
        svg.fixed(Double(width) / 1e6, decimals: 3, trim: true)
        svg.raw(" ms, from ")
        svg.fixed(Double(offset) / 1e9, decimals: 6, trim: false)
        svg.raw(" s to ")
        svg.fixed(Double(offset + width) / 1e9, decimals: 6, trim: false)
        svg.raw(" s; ")
        svg.escaped("\(thread.name) \(thread.pid)/\(thread.tid)")
        svg.raw(")</title><rect x=\"")
        svg.fixed(x, decimals: 2, trim: true)
        svg.raw("\" y=\"")
        svg.int(top)
        svg.raw("\" width=\"")
        svg.fixed(pixels, decimals: 2, trim: true)
        svg.raw("\" height=\"\(layout.frameHeight - 1)\" fill=\"")
        svg.raw(options.palette.fill(for: name, kind: options.palette == .kind ? kinds[name] : nil))
        svg.raw("\" rx=\"2\" ry=\"2\"/><text x=\"")
        svg.fixed(x + 3, decimals: 2, trim: true)
        svg.raw("\" y=\"")
        svg.fixed(layout.labelBaseline(top: top), decimals: 2, trim: true)
        svg.raw("\">")
        if let label = layout.label(name, pixels: pixels) { svg.escaped(label) }
        svg.raw("</text></g>\n")
        return true
    }
}
