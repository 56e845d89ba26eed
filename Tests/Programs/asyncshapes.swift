// Async shapes for Swift async stacks, each burning the CPU in leafSpin for SECONDS (default 1):
// recursion (30 async levels), actor (an actor hop), throwing (generic throwing async functions), child (async let)
// and group (a task group). Usage: asyncshapes SHAPE [SECONDS]
import Foundation

var sink: UInt64 = 0

@inline(never) func leafSpin(_ n: Int) -> UInt64 {
    var x: UInt64 = 0
    for i in 0..<n { x = x &* 31 &+ UInt64(i) }
    return x
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
        let shape = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "recursion"
        let seconds = CommandLine.arguments.count > 2 ? Double(CommandLine.arguments[2])! : 1.0
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
        print(sink)
    }
}
