import CUnwind
import EmberPerfData
import EmberSession
import EmberSymbols
import EmberUnwind
#if canImport(Glibc)
import Glibc
#endif

/// libunwind's remote unwinder over a sample's registers and stack copy (`--unwinder libunwind`): the unwinder perf
/// uses, given the accessors perf gives it, so it checks Ember's own unwinder independently (`ember unwind-check`).
///
/// Unwind tables come from each binary's `.eh_frame_hdr`, found through its `PT_GNU_EH_FRAME` program header; the
/// binaries' bytes are read from their files at the addresses the process maps them at. Each process gets its own
/// libunwind address space, since libunwind caches what it finds by address.
public final class LibunwindUnwinder: StackUnwinder {
    private let model: ProcessModel
    private let symbolizer: Symbolizer
    private var spaces: [Int32: Space] = [:]
    private static let maxSpaces = 256
    /// Each binary's bytes and unwind table, read on first use; nil when it has none.
    private var binaries: [Int: Binary?] = [:]
    private var registers = [UInt64](repeating: 0, count: 17)
    private var addresses = [UInt64](repeating: 0, count: Unwinder.maxDepth)
    private var signalFrames = [UInt8](repeating: 0, count: Unwinder.maxDepth)
    /// The process being unwound, for the callbacks.
    private var pid: Int32 = 0
    private var space: Space?

    public init(model: ProcessModel, symbolizer: Symbolizer) {
        self.model = model
        self.symbolizer = symbolizer
    }

    public func unwind(_ sample: Sample, into frames: inout [FrameAddress]) -> UnwindEnd? {
        guard sample.userRegsABI == 2, !sample.userRegs.isEmpty else { return nil }
        var valid: UInt32 = 0
        for (reg, bit) in DwarfRegister.perfBit.enumerated() {
            if let value = sample.userRegister(perfBit: bit) {
                registers[reg] = value
                valid |= 1 << UInt32(reg)
            }
        }
        guard valid & (1 << UInt32(DwarfRegister.returnAddress)) != 0, valid & (1 << UInt32(DwarfRegister.rsp)) != 0 else { return nil }
        pid = sample.pid
        let space = addressSpace(for: sample.pid)
        self.space = space
        var complete: Int32 = 0
        let count = registers.withUnsafeBufferPointer { regs in
            sample.userStack.withMemoryRebound(to: UInt8.self) { stack in
                var input = ember_unwind_sample(
                    context: Unmanaged.passUnretained(self).toOpaque(),
                    find_table: { context, address, table in
                        LibunwindUnwinder.from(context).findTable(address, table!)
                    },
                    read_memory: { context, address, value in
                        LibunwindUnwinder.from(context).read(address, value!)
                    },
                    registers: regs.baseAddress, valid: valid, stack_base: registers[DwarfRegister.rsp],
                    stack: stack.baseAddress, stack_size: stack.count, missed: 0)
                return Int(ember_unwind_stack(space.handle, &input, &addresses, &signalFrames, Int32(Unwinder.maxDepth), &complete))
            }
        }
        for i in 0..<count {
            // A frame is an exact PC when it is the IP, or was interrupted by the signal whose frame is above it.
            frames.append(FrameAddress(addresses[i], exact: i == 0 || signalFrames[i - 1] != 0))
        }
        return complete != 0 ? .complete : .truncated
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> LibunwindUnwinder {
        Unmanaged<LibunwindUnwinder>.fromOpaque(context!).takeUnretainedValue()
    }

    /// libunwind's address space for a process; a process that has exec'd since starts over, since its addresses
    /// now mean another image.
    private func addressSpace(for pid: Int32) -> Space {
        let executable = model.executable(pid: pid)
        if let space = spaces[pid], space.executable == executable { return space }
        // Each space caches unwind state (tens of KiB): a system-wide recording's thousands of processes start over
        // rather than grow without bound.
        if spaces.count >= LibunwindUnwinder.maxSpaces { spaces.removeAll(keepingCapacity: true) }
        let space = Space(executable: executable)
        spaces[pid] = space
        return space
    }

    /// The unwind table of the binary mapped at `address` in the process being unwound.
    private func findTable(_ address: UInt64, _ table: UnsafeMutablePointer<ember_unwind_table>) -> Int32 {
        guard let mapping = model.mapping(pid: pid, address: address), let location = model.resolve(pid: pid, address: address),
              let offset = location.address.fileOffset, let binary = binary(location.dso), let hdr = binary.ehFrameHeader,
              let vaddr = binary.image.virtualAddress(ofFileOffset: offset) else { return -1 }
        let bias = address &- vaddr
        space?.note(bias: bias, binary: binary)
        table.pointee = ember_unwind_table(start: mapping.start, end: mapping.end, header: bias &+ hdr.address,
                                           table: bias &+ hdr.table, entries: hdr.entries)
        return 0
    }

    /// Eight bytes of a binary the process maps at `address`: its executable mappings, else the binaries whose
    /// tables were looked up (their `.eh_frame` lies in segments mapped read-only, which recordings may not list).
    private func read(_ address: UInt64, _ value: UnsafeMutablePointer<UInt64>) -> Int32 {
        if let location = model.resolve(pid: pid, address: address), location.dso != model.kernelDso,
           let offset = location.address.fileOffset, let binary = binary(location.dso), let v = binary.read(fileOffset: offset) {
            value.pointee = v
            return 0
        }
        for (bias, binary) in space?.loaded ?? [] {
            if let offset = binary.image.fileOffset(ofVirtualAddress: address &- bias), let v = binary.read(fileOffset: offset) {
                value.pointee = v
                return 0
            }
        }
        return -1
    }

    private func binary(_ dso: Int) -> Binary? {
        if let cached = binaries[dso] { return cached }
        var binary: Binary?
        if let image = symbolizer.image(for: dso) {
            if model.dsos[dso].isVDSO, let vdso = ElfImage.runningVDSOMemory() {
                binary = Binary(image: image, bytes: UnsafeRawBufferPointer(start: vdso.base, count: vdso.size), mapped: false)
            } else if model.dsos[dso].hasFileOffsets {
                binary = Binary(image: image)
            }
        }
        binaries[dso] = binary
        return binary
    }

    /// A libunwind address space, and the binaries found in it with the load bias of each.
    final class Space {
        let handle: UnsafeMutableRawPointer
        let executable: Int?
        private(set) var loaded: [(bias: UInt64, binary: Binary)] = []

        init(executable: Int?) {
            handle = ember_unwind_create()
            self.executable = executable
        }

        deinit { ember_unwind_destroy(handle) }

        func note(bias: UInt64, binary: Binary) {
            if !loaded.contains(where: { $0.bias == bias && $0.binary === binary }) { loaded.append((bias, binary)) }
        }
    }

    /// A binary's file, mapped, and its `.eh_frame_hdr` search table.
    final class Binary {
        struct Header {
            /// Virtual addresses of `.eh_frame_hdr` and of its table, and the table's entry count.
            var address: UInt64
            var table: UInt64
            var entries: UInt64
        }

        let image: ElfImage
        private let bytes: UnsafeRawBufferPointer
        private let mapped: Bool
        private(set) var ehFrameHeader: Header?

        init(image: ElfImage, bytes: UnsafeRawBufferPointer, mapped: Bool) {
            self.image = image
            self.bytes = bytes
            self.mapped = mapped
            ehFrameHeader = findHeader()
        }

        convenience init?(image: ElfImage) {
            let fd = open(image.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_size > 64, let p = mmap(nil, Int(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0),
                  p != MAP_FAILED else { return nil }
            self.init(image: image, bytes: UnsafeRawBufferPointer(start: p, count: Int(st.st_size)), mapped: true)
        }

        deinit {
            if mapped, let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        }

        func read(fileOffset offset: UInt64) -> UInt64? {
            guard offset <= UInt64(bytes.count), UInt64(bytes.count) - offset >= 8 else { return nil }
            return bytes.loadUnaligned(fromByteOffset: Int(offset), as: UInt64.self)
        }

        private func u16(_ at: Int) -> UInt64 { UInt64(bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)) }
        private func u32(_ at: Int) -> UInt64 { UInt64(bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        private func u64(_ at: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self) }

        /// The search table of `.eh_frame_hdr` (found by the image's `PT_GNU_EH_FRAME`); nil without one, or with a
        /// table libunwind cannot search (it needs 4-byte entries relative to the header).
        private func findHeader() -> Header? {
            guard let segment = image.ehFrameHeader else { return nil }
            let vaddr = segment.virtualAddress
            guard let offset = Int(exactly: segment.fileOffset), bytes.count >= 4, offset <= bytes.count - 4, bytes[offset] == 1, bytes[offset + 3] == 0x3b,
                  let pointerSize = Binary.encodedSize(bytes[offset + 1]), let countSize = Binary.encodedSize(bytes[offset + 2]),
                  offset + 4 + pointerSize + countSize <= bytes.count else { return nil }
            let countAt = offset + 4 + pointerSize
            let count = countSize == 8 ? u64(countAt) : countSize == 4 ? u32(countAt) : u16(countAt)
            let tableStart = 4 + pointerSize + countSize
            guard count <= UInt64(bytes.count - (offset + tableStart)) / 8 else { return nil }
            return Header(address: vaddr, table: vaddr &+ UInt64(tableStart), entries: count)
        }

        /// The size of a fixed-size DW_EH_PE value encoding.
        private static func encodedSize(_ encoding: UInt8) -> Int? {
            switch encoding & 0x0f {
            case 0x00, 0x04, 0x0c: return 8
            case 0x03, 0x0b: return 4
            case 0x02, 0x0a: return 2
            default: return nil
            }
        }
    }
}

extension UnwinderFactory {
    /// libunwind's remote unwinder, as perf uses it.
    public static let libunwind = UnwinderFactory(name: "libunwind") { LibunwindUnwinder(model: $0, symbolizer: $1) }
}
