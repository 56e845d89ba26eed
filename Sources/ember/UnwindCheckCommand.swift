import ArgumentParser
import EmberLibunwind
import EmberRender
import EmberReplay
import EmberStacks
import EmberSymbols

/// `ember unwind-check`: both unwinders over every DWARF sample, compared.
struct UnwindCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unwind-check",
        abstract: "Unwind every --call-graph dwarf sample with Ember's unwinder and libunwind, and compare them.",
        discussion: "Example: ember unwind-check -i perf.data"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var filters: SampleFilterFlags

    func run() throws {
        var options = SymbolOptions()
        options.inline = false
        // libunwind reads the copy alone: compare like with like.
        options.stackTails = false
        let replay = try openReplay(input.input, options: options)
        try filters.apply(to: replay)
        let check = UnwindCheck(replay)
        guard check.samples > 0 else {
            throw Diagnostics.fail("\(input.input) has no --call-graph dwarf samples to unwind (record with 'ember record --call-graph dwarf')")
        }
        let out = TextOutput(fd: 1)
        write(check, replay: replay, to: out)
        try finishOutput(out)
        report(replay)
    }

    private static let outcomeNames = ["identical", "Ember stops earlier", "libunwind stops earlier", "differ at some depth"]

    private func write(_ check: UnwindCheck, replay: Replay, to out: TextOutput) {
        func percent(_ n: Int) -> String { String(format: "%7.3f%%", 100 * Double(n) / Double(check.samples)) }
        out.write("\(check.samples) DWARF samples unwound both ways\n")
        for outcome in UnwindCheck.Outcome.allCases {
            let n = check.outcomes[outcome.rawValue]
            out.write("  \(pad(UnwindCheckCommand.outcomeNames[outcome.rawValue], 24)) \(pad(String(n), 8, right: true))  \(percent(n))\n")
        }
        if !check.byBinary.isEmpty {
            out.write("\nWhere they part (the binary of the last shared frame): Ember earlier, libunwind earlier, differ\n")
            for (binary, counts) in check.byBinary.sorted(by: { $0.value.reduce(0, +) > $1.value.reduce(0, +) }) {
                out.write("  \(pad(String(counts[1]), 6, right: true)) \(pad(String(counts[2]), 6, right: true)) \(pad(String(counts[3]), 6, right: true))  \(binary)\n")
            }
        }
        out.write("\nSpeed: Ember \(rate(check.samples, check.emberSeconds)) samples/s, libunwind \(rate(check.samples, check.libunwindSeconds)) samples/s\n")
        if !check.examples.isEmpty {
            out.write("\nFirst differences (time, pid, depth: Ember's frame | libunwind's):\n")
            for d in check.examples {
                // As script prints it (perf's way): whole microseconds, cut, not rounded, so the two can be matched.
                let micros = String(d.time % 1_000_000_000 / 1000)
                let t = "\(d.time / 1_000_000_000)." + String(repeating: "0", count: 6 - micros.count) + micros
                out.write("  \(t) \(d.pid) depth \(d.depth): \(name(d.ember, d.pid, replay)) | \(name(d.libunwind, d.pid, replay))\n")
            }
        }
    }

    private func rate(_ samples: Int, _ seconds: Double) -> String {
        seconds > 0 ? String(Int((Double(samples) / seconds).rounded())) : "-"
    }

    private func name(_ address: UInt64?, _ pid: Int32, _ replay: Replay) -> String {
        guard let address else { return "(stopped)" }
        let symbol = replay.model.resolve(pid: pid, address: address).flatMap { replay.symbolizer.symbol(at: $0) }
        return "0x\(String(address, radix: 16)) \(symbol?.name ?? "[unknown]")"
    }

    private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - s.count))
        return right ? fill + s : s + fill
    }
}
