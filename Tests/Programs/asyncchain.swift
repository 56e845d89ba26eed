// Swift async code with known logical stacks, for Swift async stacks.
// `asyncchain [SECONDS [TURNS]]`: main -> outerA -> middleB -> innerC -> leafSpin, every level async but the leaf,
// each awaiting Task.yield() first, leafSpin a hot synchronous loop; for SECONDS seconds (default 2), or exactly
// TURNS turns when given (a fixed amount of work, for benchmarks).
// `asyncchain SHAPE [SECONDS]`: leafSpin under another shape: recursion (30 async levels), actor (an actor hop),
// throwing (generic throwing async functions), child (async let) or group (a task group).
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

@inline(never) func recurse(_ depth: Int) async -> UInt64 {
    await Task.yield()
    if depth == 0 { return leafSpin(2_000_000) }
    return await recurse(depth - 1) &+ 1
}

actor Counter {
    var total: UInt64 = 0
    @inline(never) func add() async -> UInt64 {
        total &+= leafSpin(2_000_000)
        return total
    }
}

@inline(never) func hop(_ counter: Counter) async -> UInt64 {
    await Task.yield()
    return await counter.add()
}

struct Failure: Error {}

@inline(never) func throwingLeaf<T: BinaryInteger>(_ value: T) async throws -> UInt64 {
    await Task.yield()
    if value < 0 { throw Failure() }
    return leafSpin(2_000_000) &+ UInt64(value)
}

@inline(never) func throwingCaller<T: BinaryInteger>(_ value: T) async throws -> UInt64 {
    await Task.yield()
    return try await throwingLeaf(value) &+ 1
}

@inline(never) func childWork() async -> UInt64 {
    await Task.yield()
    return leafSpin(2_000_000)
}

@inline(never) func withChild() async -> UInt64 {
    async let a = childWork()
    return await a
}

@inline(never) func withGroup() async -> UInt64 {
    await withTaskGroup(of: UInt64.self) { group in
        group.addTask { await childWork() }
        var total: UInt64 = 0
        for await value in group { total &+= value }
        return total
    }
}

@main
struct Main {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        if let shape = arguments.first, Double(shape) == nil {
            try await run(shape: shape, seconds: arguments.dropFirst().first.flatMap(Double.init) ?? 1)
        } else {
            await chain(seconds: arguments.first.flatMap(Double.init) ?? 2, turns: arguments.dropFirst().first.flatMap { Int($0) })
        }
        print(sink)
    }

    static func chain(seconds: Double, turns: Int?) async {
        let start = Date()
        var turn = 0
        while turns.map({ turn < $0 }) ?? (Date().timeIntervalSince(start) < seconds) {
            sink &+= await outerA(2_000_000)
            turn += 1
        }
    }

    static func run(shape: String, seconds: Double) async throws {
        let counter = Counter()
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            switch shape {
            case "recursion": sink &+= await recurse(30)
            case "actor": sink &+= await hop(counter)
            case "throwing": sink &+= try await throwingCaller(7)
            case "child": sink &+= await withChild()
            case "group": sink &+= await withGroup()
            default: fatalError("unknown shape \(shape)")
            }
        }
    }
}
