import ArgumentParser
import EmberRender
import EmberStacks
#if canImport(Glibc)
import Glibc
#endif

extension FlameGraphPalette: ExpressibleByArgument {}

struct FlameGraphCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flamegraph",
        abstract: "Write an interactive SVG flame graph from a recording or a folded file.",
        discussion: "Example: ember flamegraph -i perf.data -o flame.svg --colors kind"
    )

    @Option(name: [.customShort("i"), .long], help: "The perf.data file to read (default perf.data).")
    var input: String?

    @Option(help: "Read folded stacks ('a;b;c 12' lines) instead of a recording.")
    var folded: String?

    @Option(name: [.customShort("o"), .long], help: "The SVG to write.")
    var output = "flame.svg"

    @Option(help: "Title at the top of the graph.")
    var title: String?

    @Option(help: "Width of the image in pixels.")
    var width = 1200

    @Option(help: "Omit frames narrower than this many pixels.")
    var minwidth = 0.1

    @Flag(help: "Icicle graph: the root at the top.")
    var inverted = false

    @Option(help: "Palette: hot (default), kind (kernel, program, libraries), mem, io, blue, green.")
    var colors: FlameGraphPalette = .hot

    @OptionGroup var fold: FoldOptions

    func run() throws {
        if input != nil && folded != nil { throw Diagnostics.fail("give either -i FILE or --folded FILE, not both") }
        let profile: FoldedProfile
        var subtitle: String?
        if let folded {
            guard let text = readWholeFile(folded) else {
                throw Diagnostics.fail("cannot read \(folded): \(String(cString: strerror(errno)))")
            }
            do {
                profile = try FoldedProfile.parse(Substring(text))
            } catch {
                throw Diagnostics.fail("\(folded): \(error)")
            }
        } else {
            let path = input ?? "perf.data"
            let replay = try openReplay(path)
            profile = try fold.fold(replay)
            let event = fold.event ?? replay.file.events[0].name
            subtitle = "\(path): event \(event)"
            report(replay)
        }
        guard width >= 100 else { throw Diagnostics.fail("--width \(width) is too small; use 100 or more") }
        var options = FlameGraphOptions()
        if let title { options.title = title } else if inverted { options.title = "Icicle Graph" }
        options.subtitle = subtitle
        options.width = width
        options.minWidth = minwidth
        options.inverted = inverted
        options.palette = colors
        if fold.count { options.countName = "samples" } else if folded == nil { options.countName = "weight" }
        let svg = FlameGraph.render(profile, options: options)
        guard writeWholeFile(output, svg) else {
            throw Diagnostics.fail("cannot write \(output): \(String(cString: strerror(errno))) (choose another path with -o)")
        }
        Diagnostics.note("wrote \(output) (\(profile.weights.count) stacks)")
    }
}

func readWholeFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}

func writeWholeFile(_ path: String, _ text: String) -> Bool {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var text = text
    return text.withUTF8 { b in
        var done = 0
        while done < b.count {
            let n = write(fd, b.baseAddress! + done, b.count - done)
            if n < 0 { if errno == EINTR { continue }; return false }
            done += n
        }
        return true
    }
}
