// The heap shim's cost benchmark (Benchmarks section 16), in Swift: N class instances created and dropped (each
// replaces the one made 64 rounds before in a ring, so it escapes and is allocated on the heap through
// swift_allocObject and malloc). Prints "ns-per-pair X": the loop's wall time per instance, CLOCK_MONOTONIC around
// the loop only. Usage: objectchurn N. Build: swiftc -O -o objectchurn objectchurn.swift
#if canImport(Glibc)
import Glibc
#endif

final class Node {
    var value: Int
    var payload = (0, 0, 0, 0)
    init(_ value: Int) { self.value = value }
}

func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

let n = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 10_000_000 : 10_000_000
var ring = [Node?](repeating: nil, count: 64)
var sum = 0
let start = now()
for i in 0..<n {
    ring[i & 63] = Node(i)
    sum &+= ring[(i + 1) & 63]?.value ?? 0
}
let seconds = now() - start
print("ns-per-pair \((seconds * 1e9 / Double(n) * 100).rounded() / 100) (checksum \(sum & 1))")
