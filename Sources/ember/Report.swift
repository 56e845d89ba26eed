import ArgumentParser
import EmberRender
import EmberStacks

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Overhead per symbol, with Children and Self columns.",
        discussion: "Example: ember report -i perf.data --limit 10"
    )

    @OptionGroup var input: InputOptions
    @OptionGroup var symbols: SymbolFlags

    @Flag(name: .customLong("no-children"), help: "Only the Self column, sorted by it.")
    var noChildren = false

    @Option(help: "Print at most this many symbols.")
    var limit: Int?

    @Option(help: "The event to report in a recording with several (default: the first).")
    var event: String?

    func run() throws {
        let replay = try openReplay(input.input, symbols: symbols)
        let summary: SymbolSummary
        do {
            summary = try SymbolSummary(replay, eventName: event)
        } catch let e as CollapseError {
            throw Diagnostics.fail(e.description)
        }
        var writer = ReportWriter()
        writer.children = !noChildren
        writer.limit = limit
        writer.eventName = event ?? replay.file.events[0].name
        print(writer.render(summary), terminator: "")
        report(replay)
    }
}
