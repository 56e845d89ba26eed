import EmberKernel
import EmberSession

/// Turns `(dso, address)` locations into symbols, reading each binary once and each address once.
///
/// Symbols are resolved at analysis time from the files on this machine (and this machine's kallsyms).
public final class Symbolizer {
    /// A resolved symbol and the distance of the address from its start.
    public struct Hit {
        public var name: String
        public var offset: UInt64
    }

    private let model: ProcessModel
    private var images: [Int: ElfImage?] = [:]
    private var cache: [UInt64: Hit?] = [:]
    private var kernelCache: [UInt64: Hit?] = [:]
    private lazy var kernel: KernelSymbols = KernelSymbols.loadRunning()
    /// One line per binary that could not be read, and the kptr_restrict note; each said once.
    public private(set) var warnings: [String] = []

    public init(model: ProcessModel) {
        self.model = model
    }

    /// The symbol at a location returned by `ProcessModel.resolve`.
    @inline(__always)
    public func symbol(at location: ProcessModel.Location) -> Hit? {
        if location.dso == model.kernelDso { return kernelSymbol(location.address) }
        let key = location.cacheKey
        if let cached = cache[key] { return cached }
        let hit = lookUp(location)
        cache[key] = hit
        return hit
    }

    private func kernelSymbol(_ address: UInt64) -> Hit? {
        if let cached = kernelCache[address] { return cached }
        if kernel.addressesHidden { warnOnce("kernel addresses are hidden by kernel.kptr_restrict; kernel frames show as [unknown] (run as root or set kernel.kptr_restrict=0)") }
        let hit = kernel.table.lookup(address).map { Hit(name: $0.name, offset: address - $0.start) }
        kernelCache[address] = hit
        return hit
    }

    private func lookUp(_ location: ProcessModel.Location) -> Hit? {
        guard let image = image(for: location.dso), let address = image.virtualAddress(ofFileOffset: location.address) else {
            return nil
        }
        return image.symbols.lookup(address).map { Hit(name: $0.name, offset: address - $0.start) }
    }

    /// The ELF image of a dso, read on first use; nil (with one warning) when it cannot be read.
    public func image(for dso: Int) -> ElfImage? {
        if let cached = images[dso] { return cached }
        let d = model.dsos[dso]
        var image: ElfImage?
        if d.isVDSO {
            image = ElfImage.runningVDSO()
        } else if d.isFile {
            do {
                image = try ElfImage(path: d.path)
                if let image, !image.hasFullSymbols, let debug = debugFile(for: image) { image.adoptSymbols(from: debug) }
            } catch {
                warnOnce("\(error); its frames show as [unknown]")
            }
        }
        images[dso] = image
        return image
    }

    /// The separate debug file of a stripped binary, found by build-id as gdb and perf find it.
    private func debugFile(for image: ElfImage) -> ElfImage? {
        guard let id = image.buildID, id.count > 1 else { return nil }
        let hex = hexString(id)
        let path = "/usr/lib/debug/.build-id/\(hex.prefix(2))/\(hex.dropFirst(2)).debug"
        return try? ElfImage(path: path)
    }

    private func warnOnce(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }
}
