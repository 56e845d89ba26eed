/// An independent fold of `perf script` text, written from stackcollapse-perf.pl's documented rules, to check
/// `ember collapse` against: header lines start a sample (`comm  pid[/tid] [cpu] time: period event:`), indented
/// `addr sym+off (dso)` lines are frames leaf first, a blank line ends the sample.
enum PerfScriptFolder {
    static func fold(_ text: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        var comm: String?
        var period: UInt64 = 1
        var frames: [String] = []
        func end() {
            if let comm {
                out[([comm] + frames.reversed()).joined(separator: ";"), default: 0] += period
            }
            comm = nil
            frames = []
        }
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.isEmpty { end(); continue }
            if line.hasPrefix("#") { continue }
            if line.first == "\t" || line.first == " " {
                guard comm != nil else { continue }
                if let name = frameName(line) { frames.append(name) }
                continue
            }
            comm = headerComm(line)
            // `...: 1001001 cpu-clock:` — the number before the event name.
            let words = line.split(separator: " ")
            if words.count >= 2, let p = UInt64(words[words.count - 2]) { period = p } else { period = 1 }
        }
        end()
        return out
    }

    /// The comm is everything before the first run of spaces followed by a pid (`\s+\d+[/\s]`).
    private static func headerComm(_ line: String) -> String {
        let chars = Array(line)
        var i = 0
        while i < chars.count {
            if chars[i] == " " {
                var j = i
                while j < chars.count, chars[j] == " " { j += 1 }
                var k = j
                while k < chars.count, chars[k].isNumber { k += 1 }
                if k > j, k < chars.count, chars[k] == "/" || chars[k] == " " {
                    return String(chars[0..<i]).replacingOccurrences(of: " ", with: "_")
                }
                i = j
            } else {
                i += 1
            }
        }
        return line
    }

    /// `\t    55d0c8a01139 hot_loop+0x19 (/path/demo)` → `hot_loop`; unknown symbols take the binary's name;
    /// nil for frames the Perl script skips (names starting with `(`).
    private static func frameName(_ line: String) -> String? {
        let trimmed = line.drop { $0 == " " || $0 == "\t" }
        guard let space = trimmed.firstIndex(of: " ") else { return "[unknown]" }
        let rest = trimmed[trimmed.index(after: space)...]
        guard let open = rest.range(of: " (", options: .backwards) else { return "[unknown]" }
        var symbol = String(rest[..<open.lowerBound])
        let module = String(rest[open.upperBound...].dropLast())
        if let plus = symbol.range(of: "+0x", options: .backwards),
           symbol[plus.upperBound...].allSatisfy({ $0.isHexDigit }) {
            symbol = String(symbol[..<plus.lowerBound])
        }
        if symbol == "[unknown]" {
            if module != "[unknown]" {
                return "[" + (module.split(separator: "/").last.map(String.init) ?? module) + "]"
            }
            return "[unknown]"
        }
        if symbol.hasPrefix("(") { return nil }
        symbol = symbol.replacingOccurrences(of: ";", with: ":")
        // s/\((?!anonymous namespace\)).*//, unless the name looks like a Go method (pkg.(*T).M).
        if symbol.range(of: #"\.\(.*\)\."#, options: .regularExpression) == nil,
           let cut = symbol.range(of: #"\((?!anonymous namespace\))"#, options: .regularExpression) {
            symbol = String(symbol[..<cut.lowerBound])
        }
        return symbol.filter { $0 != "\"" && $0 != "'" }
    }
}

import Foundation
