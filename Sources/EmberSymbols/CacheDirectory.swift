import EmberKernel
#if canImport(Glibc)
import Glibc
#endif

/// Where Ember keeps what it worked out once and may reuse: `$XDG_CACHE_HOME/ember`, else `~/.cache/ember`
/// (perf keeps its copies under `~/.debug` for the same reasons).
enum CacheDirectory {
    /// The directory, or nil when neither variable names a home.
    static var path: String? {
        if let xdg = getenv("XDG_CACHE_HOME"), xdg.pointee != 0 { return String(cString: xdg) + "/ember" }
        if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) + "/.cache/ember" }
        return nil
    }

    /// Writes `bytes` to `file` in the directory (created private when missing), atomically; failures only cost
    /// the next reader time.
    @discardableResult
    static func store(_ bytes: [UInt8], as file: String) -> Bool {
        guard let dir = path else { return false }
        var prefix = ""
        for part in dir.split(separator: "/") {
            prefix += "/" + part
            mkdir(prefix, 0o700)
        }
        return (try? OutputFile.replace(dir + "/" + file, with: bytes, mode: 0o600)) != nil
    }
}
