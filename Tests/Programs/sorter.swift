// Built with swiftc -O -g by SymbolTests: Swift names that must come out readable.
struct Sorter {
    var values: [Int]
    init(count: Int) { values = (0..<count).map { ($0 &* 7919) % 100_003 } }
    @inline(never) mutating func sortMany(_ times: Int) -> Int {
        var checksum = 0
        for _ in 0..<times {
            values.reverse()
            values.sort()
            checksum &+= values[values.count / 2]
        }
        return checksum
    }
}
struct Matrix {
    var cells: [Double]
    let n: Int
    @inline(never) func multiply(_ other: Matrix) -> Matrix {
        var out = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n { let a = cells[i * n + k]; for j in 0..<n { out[i * n + j] += a * other.cells[k * n + j] } } }
        return Matrix(cells: out, n: n)
    }
}
var sorter = Sorter(count: 200_000)
var total = sorter.sortMany(150)
let m = Matrix(cells: (0..<(200 * 200)).map { Double($0 % 17) }, n: 200)
var p = m
for _ in 0..<40 { p = m.multiply(m) }
total &+= Int(p.cells[0]) % 1000
print(total)
