// Used by the demangling tests: one of each kind of Swift declaration whose short name has gone wrong before
// (private and fileprivate functions, protocol-extension methods, generic specializations, closures, async
// functions, actor methods, property accessors, nested types). Build: swiftc -O -g -o names names.swift

protocol Shape { var sides: Int { get } }

extension Shape {
    @inline(never) func describe(prefix: String) -> String { prefix + String(sides) }
}

struct Square: Shape {
    var sides: Int { 4 }
    struct Corner {
        var angle: Double
        @inline(never) func turned(by degrees: Double) -> Corner { Corner(angle: angle + degrees) }
    }
}

@inline(never) private func hidden(_ value: Int) -> Int { value &* 31 &+ 7 }

@inline(never) fileprivate func fileHidden(count: Int) -> [Int] { (0..<count).map { hidden($0) } }

@inline(never) func makeFilter(divisor: Int) -> (Int) -> Bool { { $0 % divisor == 0 } }

@inline(never) func largest<T: Comparable>(_ values: [T]) -> T? { values.max() }

final class Counter {
    private(set) var total = 0
    var doubled: Int {
        get { total * 2 }
        set { total = newValue / 2 }
    }
    @inline(never) func add(_ values: [Int], where keep: (Int) -> Bool) {
        for v in values where keep(v) { total &+= v }
    }
}

actor Ledger {
    var entries: [Int] = []
    func record(amount: Int) { entries.append(amount) }
}

@inline(never) func settle(_ ledger: Ledger, amounts: [Int]) async -> Int {
    for a in amounts { await ledger.record(amount: a) }
    return await ledger.entries.count
}

let counter = Counter()
counter.add(fileHidden(count: 1000), where: makeFilter(divisor: 3))
counter.doubled = counter.doubled + 2
print(Square().describe(prefix: "sides: "), Square.Corner(angle: 1).turned(by: 90).angle,
      largest([3, 1, 4]) ?? 0, largest(["a", "b"]) ?? "", counter.total)
let ledger = Ledger()
print(await settle(ledger, amounts: Array(1...10)))
