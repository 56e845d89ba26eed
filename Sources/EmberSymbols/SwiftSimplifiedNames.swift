import CEmberShim
#if canImport(Glibc)
import Glibc
#endif

/// `swift demangle --simplified`'s names, from the toolchain's own demangler library (`libswiftDemangle.so`, found
/// beside the Swift runtime this process loaded, or on the library path): `swift_demangle_getSimplifiedDemangledName`
/// prints what the Swift tools print, so no text rule here can drift from it. Where the library is absent (a
/// machine with the Swift runtime but no toolchain), `SwiftNameShortener` shortens the runtime's full text instead.
enum SwiftSimplifiedNames {
    private typealias Simplify = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int

    private static let simplify: Simplify? = {
        var candidates = ["libswiftDemangle.so"]
        // The runtime's directory is .../usr/lib/swift/linux; the toolchain's libraries are two levels up.
        if let runtime = ember_swift_runtime_path() {
            let directory = String(cString: runtime).split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            candidates.insert(directory + "/../../libswiftDemangle.so", at: 0)
        }
        for path in candidates {
            guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { continue }
            if let symbol = dlsym(library, "swift_demangle_getSimplifiedDemangledName") {
                return unsafeBitCast(symbol, to: Simplify.self)
            }
            dlclose(library)
        }
        return nil
    }()

    static var available: Bool { simplify != nil }

    /// The simplified name of a mangled Swift symbol, or nil without the library or when it cannot demangle it.
    static func name(_ mangled: String) -> String? {
        guard let simplify else { return nil }
        return mangled.withCString { symbol -> String? in
            var buffer = [CChar](repeating: 0, count: 512)
            var length = simplify(symbol, &buffer, buffer.count)
            if length >= buffer.count {
                buffer = [CChar](repeating: 0, count: length + 1)
                length = simplify(symbol, &buffer, buffer.count)
            }
            guard length > 0, length < buffer.count else { return nil }
            return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
