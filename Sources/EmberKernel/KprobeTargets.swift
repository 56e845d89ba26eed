/// Which kernel functions a kprobe can go on: the functions ftrace lists (tracefs `available_filter_functions`, the
/// list `ember list --kprobes` shows) less the kprobe blacklist (debugfs `kprobes/blacklist`, the functions the
/// kprobe machinery itself runs through), and the check `record -e kprobe:FUNC` makes before it asks the kernel.
public enum KprobeTargets {
    public static let blacklistPath = "/sys/kernel/debug/kprobes/blacklist"

    /// The functions ftrace knows (modules' too), less the blacklist, sorted; throws when tracefs cannot be mounted.
    public static func available() throws -> [String] {
        let root = try Tracefs.mounted()
        let text = readSmallFile(root + "/available_filter_functions", limit: 64 << 20) ?? ""
        let blacklisted = blacklist() ?? []
        var names = Set<String>()
        for line in text.split(separator: "\n") {
            guard let name = line.split(separator: " ", maxSplits: 1).first, !blacklisted.contains(String(name)) else { continue }
            names.insert(String(name))
        }
        return names.sorted()
    }

    /// The blacklist's function names (`0xSTART-0xEND\tNAME` lines); nil where debugfs is not mounted.
    public static func blacklist() -> Set<String>? {
        guard let text = readSmallFile(blacklistPath, limit: 16 << 20) else { return nil }
        return Set(text.split(separator: "\n").compactMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.map(String.init) })
    }

    /// Why `function` cannot take a kprobe, or nil: it is blacklisted, or /proc/kallsyms has no function of that
    /// name (kprobes may go on any kernel text, not only on what ftrace lists). Nil when neither can be read.
    public static func problem(with function: String) -> String? {
        if blacklist()?.contains(function) == true {
            return "\(function) is on the kernel's kprobe blacklist (\(blacklistPath)): the kprobe machinery runs through it, so it cannot be probed"
        }
        guard let kallsyms = readSmallFile("/proc/kallsyms", limit: 256 << 20), !kallsyms.isEmpty else { return nil }
        for line in kallsyms.split(separator: "\n") {
            // "ffffffff81000000 T _stext" and "... t name\t[module]": text symbols only.
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 3, fields[1] == "T" || fields[1] == "t", fields[2] == function { return nil }
        }
        return "the kernel has no function named \(function); `ember list --kprobes '\(function.prefix(6))*'` lists those that take kprobes"
    }
}
