// Parsers for the summary lines and reports Ember and perf print.

/// `ember record: N samples, M lost, wrote B bytes (X MB) to FILE in S s` (`1 sample` for one)
struct EmberRecordSummary {
    var samples: Int
    var lost: Int
    var bytes: Int
    var seconds: Double
}

/// Parses the last Ember summary line found in `text` (Ember's stderr).
func parseEmberSummary(_ text: String) -> EmberRecordSummary? {
    let prefix = "ember record:"
    guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(prefix) }) else { return nil }
    let words = line.dropFirst(prefix.count).split(separator: " ").map(String.init)
    // N samples, M lost, wrote B bytes to FILE... in S s
    guard words.count >= 10,
          words[1] == "samples," || words[1] == "sample,", words[3] == "lost,", words[4] == "wrote", words[6] == "bytes",
          words[words.count - 3] == "in", words.last == "s",
          let samples = Int(words[0]), let lost = Int(words[2]), let bytes = Int(words[5]),
          let secs = Double(words[words.count - 2])
    else { return nil }
    return EmberRecordSummary(samples: samples, lost: lost, bytes: bytes, seconds: secs)
}

/// Sample count from perf's `[ perf record: Captured and wrote X MB F (N samples) ]`.
func parsePerfRecordSamples(_ text: String) -> Int? {
    guard let line = text.split(separator: "\n").last(where: { $0.contains("perf record: Captured and wrote") }),
          let open = line.lastIndex(of: "(") else { return nil }
    let rest = line[line.index(after: open)...]
    guard let number = rest.split(separator: " ").first else { return nil }
    return Int(number)
}

/// The first `SAMPLE events: N` line of `perf report --stats` (the aggregate).
func parsePerfStatsSamples(_ text: String) -> Int? {
    for line in text.split(separator: "\n") {
        let trimmed = line.trimmingLeadingSpaces()
        if trimmed.hasPrefix("SAMPLE events:") {
            let fields = trimmed.split(separator: " ")
            if fields.count >= 3, let n = Int(fields[2]) { return n }
        }
    }
    return nil
}

/// `# Total Lost Samples: N` from the header of `perf report --stdio`.
func parsePerfLostSamples(_ text: String) -> Int? {
    for line in text.split(separator: "\n") where line.hasPrefix("# Total Lost Samples:") {
        return Int(line.split(separator: ":").last.map { $0.trimmingLeadingSpaces() } ?? "")
    }
    return nil
}

/// Sum of the trailing counts of folded-stack lines (`a;b;c 42`).
func foldedTotal(_ text: String) -> (lines: Int, samples: Int) {
    var lines = 0, samples = 0
    for line in text.split(separator: "\n") {
        guard let space = line.lastIndex(of: " "), let n = Int(line[line.index(after: space)...]) else { continue }
        lines += 1
        samples += n
    }
    return (lines, samples)
}

extension Substring {
    func trimmingLeadingSpaces() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        return s
    }
}
