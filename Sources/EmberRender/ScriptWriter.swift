import EmberPerfData
import EmberSession
import EmberStacks
import EmberSymbols

/// `ember script`: each sample as `perf script` prints it with call chains — a header line at column 0
/// (`comm pid/tid [cpu] time: period event:`), one indented line per frame (`addr symbol+offset (binary)`), then a
/// blank line. Inlined functions come before the frame they were inlined into, as `addr name (inlined)`; with
/// source lines, each frame line is followed by `  file:line`, as perf's `-F +srcline` prints it.
public struct ScriptWriter {
    public init() {}

    /// Writes every sample of `replay` to `out`; returns the number of samples written.
    @discardableResult
    public func write(_ replay: Replay, to out: TextOutput) -> UInt64 {
        var frames: [ResolvedFrame] = []
        let names = replay.file.events.map { $0.name + ": " }
        let model = replay.model
        let dsoNames = { (i: Int) in model.dsos[i].path }
        var count: UInt64 = 0
        let fields = SampleFields(file: replay.file)
        let sourceLines = replay.symbolizer.options.sourceLines
        func line(_ l: SourceLine?) {
            guard sourceLines, let l else { return }
            out.write("  ")
            out.write(l.short)
            out.byte(0x0a)
        }
        replay.forEachSample(event: nil) { sample, eventIndex in
            count += 1
            out.write(model.comm(tid: sample.tid))
            out.byte(0x20)
            out.decimal(sample.pid, width: 5)
            out.byte(UInt8(ascii: "/"))
            out.decimal(sample.tid, width: 5, left: true)
            out.write(" [")
            out.decimal(UInt64(sample.cpu), width: 3, zeros: true)
            out.write("] ")
            out.decimal(sample.time / 1_000_000_000, width: 5)
            out.byte(UInt8(ascii: "."))
            out.decimal(sample.time % 1_000_000_000 / 1000, width: 6, zeros: true)
            out.write(": ")
            out.decimal(sample.period, width: 10)
            out.byte(0x20)
            out.write(names[eventIndex])
            let text = fields.describe(sample, event: eventIndex)
            if let text { out.write(text) }
            out.byte(0x0a)
            // Tracepoints and probes without call chains: the fields are the sample.
            if text != nil, sample.callchainCount == 0 {
                out.byte(0x0a)
                return
            }
            replay.resolver.frames(of: sample, into: &frames)
            for frame in frames {
                for function in frame.symbol?.inlined ?? [] {
                    out.byte(0x09)
                    out.hex(frame.address, width: 16)
                    out.byte(0x20)
                    out.write(function.name)
                    out.write(" (inlined)\n")
                    line(function.line)
                }
                out.byte(0x09)
                out.hex(frame.address, width: 16)
                out.byte(0x20)
                if frame.isTruncation {
                    out.write("[truncated] ([unknown])\n")
                    continue
                }
                if let symbol = frame.symbol {
                    out.write(symbol.name)
                    out.write("+0x")
                    out.hex(symbol.offset)
                } else {
                    out.write("[unknown]")
                }
                out.write(" (")
                out.write(frame.location.map { dsoNames($0.dso) } ?? "[unknown]")
                out.write(")\n")
                line(frame.symbol?.line)
            }
            out.byte(0x0a)
        }
        return count
    }
}
