// main -> outerA -> middleB -> innerC -> leafSpin: every level async but the leaf, each awaiting Task.yield()
// first, leafSpin a hot synchronous loop; runs for SECONDS seconds (default 2), or exactly TURNS turns when given
// (a fixed amount of work, for benchmarks). Usage: asyncchain [SECONDS [TURNS]]
import Foundation

var sink: UInt64 = 0

@inline(never) func leafSpin(_ n: Int) -> UInt64 {
    var x: UInt64 = 0
    for i in 0..<n { x = x &* 31 &+ UInt64(i) }
    return x
}

@inline(never) func innerC(_ n: Int) async -> UInt64 {
    await Task.yield()
    return leafSpin(n)
}

@inline(never) func middleB(_ n: Int) async -> UInt64 {
    await Task.yield()
    return await innerC(n) &+ 1
}

@inline(never) func outerA(_ n: Int) async -> UInt64 {
    await Task.yield()
    return await middleB(n) &+ 2
}

@main
struct Main {
    static func main() async {
        let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1])! : 2.0
        let turns = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2])! : nil
        let start = Date()
        var turn = 0
        while turns.map({ turn < $0 }) ?? (Date().timeIntervalSince(start) < seconds) {
            sink &+= await outerA(2_000_000)
            turn += 1
        }
        print(sink)
    }
}
