import EmberKernel

/// The text of source lines, each file read once (at most 16 MiB of it); a file that cannot be read has no text.
public final class SourceFiles {
    private var files: [String: [Substring]?] = [:]
    /// Under `--symfs`, as binaries are.
    private let root: String

    public init(root: String? = nil) {
        self.root = root ?? ""
    }

    /// The line's text without its trailing whitespace; nil when the file or the line is missing.
    public func text(of line: SourceLine) -> String? {
        let lines: [Substring]?
        if let known = files[line.file] {
            lines = known
        } else {
            lines = readSmallFile(root + line.file, limit: 16 << 20).map { $0.split(separator: "\n", omittingEmptySubsequences: false) }
            files[line.file] = lines
        }
        guard let lines, line.line >= 1, line.line <= lines.count else { return nil }
        var text = lines[line.line - 1]
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return String(text)
    }
}
