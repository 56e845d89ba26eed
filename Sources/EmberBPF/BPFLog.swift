import CBPF
#if canImport(Glibc)
import Glibc
#endif

/// libbpf's messages, kept instead of printed: a failed load's reason goes into Ember's one-line error. libbpf
/// calls its print function with a `va_list`, formatted here with `vsnprintf`.
enum BPFLog {
    private static var lines: [String] = []
    private static var installed = false

    static func install() {
        guard !installed else { return }
        installed = true
        libbpf_set_print { level, format, arguments in
            guard let format, let arguments, level != LIBBPF_DEBUG else { return 0 }
            var buffer = [CChar](repeating: 0, count: 512)
            let n = vsnprintf(&buffer, buffer.count, format, arguments)
            let text = String(cString: buffer).trimmingSuffix()
            if !text.isEmpty { BPFLog.lines = Array((BPFLog.lines + [text]).suffix(16)) }
            return n
        }
    }

    static func clear() { lines = [] }

    /// The last thing libbpf said, without its `libbpf: ` prefix.
    static var lastLine: String {
        guard let last = lines.last else { return "" }
        return last.hasPrefix("libbpf: ") ? String(last.dropFirst(8)) : last
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var s = Substring(self)
        while let c = s.last, c == "\n" || c == " " { s = s.dropLast() }
        return String(s)
    }
}
