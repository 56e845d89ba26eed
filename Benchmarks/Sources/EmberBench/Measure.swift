// Repeating a command --runs times and summarising wall time and peak RSS.

import Foundation

/// Best and median of a series of samples.
struct Stat {
    var best: Double
    var median: Double
    var worst: Double

    init(_ values: [Double], bestIsLowest: Bool = true) {
        precondition(!values.isEmpty)
        let sorted = values.sorted()
        let mid = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
        best = bestIsLowest ? sorted.first! : sorted.last!
        worst = bestIsLowest ? sorted.last! : sorted.first!
    }
}

/// Wall time and peak RSS of a command run several times.
struct Timing {
    var label: String
    var wall: Stat
    var maxRSSKiB: Stat
    var runs: [RunResult]
}

/// Runs `argv` `runs` times (each must exit 0) and summarises the runs.
/// `prepare` is called before each run (e.g. to delete an old output file).
func measure(_ label: String, _ argv: [String], runs: Int, stdout: Sink = .devNull,
             stderrPath: String, prepare: () -> Void = {}) throws -> Timing {
    var results: [RunResult] = []
    for _ in 0..<max(runs, 1) {
        prepare()
        results.append(try runChecked(argv, stdout: stdout, stderrPath: stderrPath))
    }
    return Timing(label: label,
                  wall: Stat(results.map(\.wallSeconds)),
                  maxRSSKiB: Stat(results.map { Double($0.maxRSSKiB) }),
                  runs: results)
}

// MARK: - Formatting

func fmt(_ value: Double, _ decimals: Int = 3) -> String {
    guard value.isFinite else { return "n/a" }
    return String(format: "%.\(decimals)f", value)
}

func seconds(_ value: Double) -> String { "\(fmt(value)) s" }

func signedSeconds(_ value: Double) -> String { (value >= 0 ? "+" : "") + "\(fmt(value)) s" }

func mebibytes(kib: Double) -> String { "\(fmt(kib / 1024, 1)) MiB" }

/// "3.21x"; n/a when the denominator is not positive.
func ratio(_ numerator: Double, _ denominator: Double) -> String {
    guard denominator > 0, numerator.isFinite else { return "n/a" }
    return "\(fmt(numerator / denominator, 2))x"
}

func bestMedian(_ stat: Stat) -> String { "best \(seconds(stat.best)), median \(seconds(stat.median))" }

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Writes a line to stdout unbuffered, so progress shows through pipes.
func say(_ text: String = "") {
    FileHandle.standardOutput.write((text + "\n").data(using: .utf8)!)
}
