import ArgumentParser

/// "Did you mean" for misspelt commands and options.
enum Suggestions {
    /// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        // A word the help mentions (`--stdio` in an abstract) but that is no option is not its own suggestion.
        let candidates = candidates.filter { $0 != word }
        // A longer misspelling of a short name (--freqency for --freq) is far by edits but shares its start.
        if let stem = candidates.filter({ $0.count >= 4 && word.hasPrefix($0) }).max(by: { $0.count < $1.count }) {
            return stem
        }
        let scored = candidates.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        guard let (best, d) = scored, d <= max(2, word.count / 3) else { return nil }
        return best
    }

    /// The option spellings (`--freq`, `-F`) a command's help lists.
    static func optionNames(of command: ParsableCommand.Type) -> [String] {
        var names = Set<String>()
        for token in Ember.helpMessage(for: command, columns: 1000).split(whereSeparator: { " ,=<>()[]|\n".contains($0) }) {
            guard token.hasPrefix("-"), token.count >= 2, token != "--" else { continue }
            let name = token.prefix { $0 == "-" || $0.isLetter || $0.isNumber }
            if name.count >= 2, name.last != "-" { names.insert(String(name)) }
        }
        return names.sorted()
    }

    /// A one-line "unknown option" message for a command, with the nearest option it has.
    static func unknownOption(_ option: String, of command: ParsableCommand.Type) -> String {
        let name = String(option.prefix { $0 != "=" })
        let near = nearest(name, in: optionNames(of: command)).map { "; did you mean '\($0)'?" } ?? ""
        return "unknown option '\(name)'\(near) (see 'ember \(command._commandName) --help')"
    }

    /// Levenshtein distance over characters.
    private static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
