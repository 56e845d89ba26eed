// main -> outerA -> middleB -> innerC -> leafSpin: every level async but the leaf, each awaiting Task.yield()
// first, leafSpin a hot synchronous loop; runs for SECONDS seconds (default 2).
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
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            sink &+= await outerA(2_000_000)
        }
        print(sink)
    }
}
