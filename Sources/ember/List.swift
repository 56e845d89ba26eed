import ArgumentParser
import EmberKernel
import EmberRecord
import EmberRender
import EmberSymbols
#if canImport(Glibc)
import Glibc
#endif

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the events this machine offers, or the probe points of a binary.",
        discussion: """
            Examples:
              ember list 'sched:*'
              ember list --probes /usr/lib/x86_64-linux-gnu/libc.so.6
            """
    )

    @Argument(help: "Only events matching this glob (tracepoints as SYSTEM:NAME).")
    var pattern: String?

    @Option(help: "List the functions and USDT probes of this binary instead.")
    var probes: String?

    @Flag(help: "List the kernel functions that take kprobes instead: those ftrace can trace (tracefs available_filter_functions), less the kprobe blacklist. A kprobe may also go on other kernel text, such as the __x64_sys_ wrappers.")
    var kprobes = false

    func run() throws {
        let out = TextOutput(fd: 1)
        if let probes {
            try listProbes(probes, out)
        } else if kprobes {
            guard DynamicPMU.named("kprobe") != nil else {
                throw Diagnostics.fail("this kernel has no kprobe PMU (CONFIG_KPROBES is not set): no kernel function can take a kprobe here")
            }
            do {
                for name in try KprobeTargets.available() where matches(name) { out.write("  \(name)\n") }
            } catch {
                throw Diagnostics.fail("\(error)")
            }
            if KprobeTargets.blacklist() == nil {
                Diagnostics.warning("debugfs is not mounted: the kprobe blacklist is not taken out (mount -t debugfs nodev /sys/kernel/debug)")
            }
        } else {
            listEvents(out)
        }
        try finishOutput(out)
    }

    private func matches(_ name: String) -> Bool {
        guard let pattern else { return true }
        return fnmatch(pattern, name, 0) == 0
    }

    private func listEvents(_ out: TextOutput) {
        for spec in EventSpec.known where matches(spec.name) {
            var note = spec.type == .software ? "[Software event]" : "[Hardware event]"
            if spec.type == .hardware, (try? PerfEvent(attr: EventAttr(type: spec.type, config: spec.config), pid: 0, cpu: -1)) == nil {
                note += " (not supported here; records fall back to cpu-clock)"
            }
            out.write("  \(spec.name.padding(36))\(note)\n")
        }
        let uprobe = DynamicPMU.named("uprobe"), kprobe = DynamicPMU.named("kprobe")
        if matches("uprobe:") || pattern == nil {
            out.write("  \("uprobe:BINARY:SYMBOL".padding(36))[uprobe PMU: \(uprobe != nil ? "available" : "not available")]\n")
            out.write("  \("usdt:BINARY:PROVIDER:NAME".padding(36))[uprobe PMU: \(uprobe != nil ? "available" : "not available")]\n")
            out.write("  \("kprobe:FUNCTION".padding(36))[kprobe PMU: \(kprobe != nil ? "available" : "not available (CONFIG_KPROBES is not set)")]\n")
        }
        do {
            _ = try Tracefs.mounted()
            for name in Tracefs.allEvents() where matches(name) {
                out.write("  \(name.padding(36))[Tracepoint event]\n")
            }
        } catch {
            Diagnostics.warning("\(error); tracepoints are not listed")
        }
    }

    private func listProbes(_ binary: String, _ out: TextOutput) throws {
        let image: ElfImage
        do { image = try ElfImage(path: binary) } catch { throw Diagnostics.fail("\(error)") }
        let demangler = Demangler(style: .short)
        let functions = image.symbols.symbols { _ in true }.map { demangler.demangle($0.name).name }
        for name in Set(functions).sorted() where matches(name) { out.write("  \(name)\n") }
        for p in (try? ElfImage.usdtProbes(path: binary)) ?? [] where matches("\(p.provider):\(p.name)") {
            out.write("  usdt:\(binary):\(p.provider):\(p.name)  [\(p.arguments)]\n")
        }
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
