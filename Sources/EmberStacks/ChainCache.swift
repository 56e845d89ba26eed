import EmberPerfData
import EmberSession

/// What call chains already folded came to (a call-tree node, a stack's index), by the chains' raw addresses: a sample whose chain,
/// process, root frame and process version (`ProcessModel.version(pid:)`) match one folded before reaches the same
/// node without resolving a frame. Only chains the kernel recorded whole are cached: a sample with a user stack copy
/// (DWARF, leaf repair) or async chains folds to what that copy holds. The chains kept are bounded (`wordLimit`,
/// `entryLimit`); past that, new chains are folded without being kept.
public struct ChainCache {
    private struct Entry {
        var hash: UInt64
        var start: Int
        var count: Int
        var pid: Int32
        var root: Int32
        var version: UInt64
        /// The model's change count when `version` was last found current.
        var checked: UInt64
        var node: Int32
    }

    /// Open addressing: indices into `entries`, -1 where empty; a power of two, at most half full.
    private var slots = [Int32](repeating: -1, count: 1 << 10)
    private var entries: [Entry] = []
    private var words: [UInt64] = []
    /// At most 32 MiB of addresses and a million chains (about 70 MiB with the table).
    static let wordLimit = 4 << 20
    static let entryLimit = 1 << 20

    public init() {}

    public static func caches(_ sample: Sample) -> Bool {
        sample.callchainCount > 0 && sample.userStack.isEmpty && sample.asyncChains == nil
    }

    public enum Lookup {
        case hit(Int32)
        case miss(Miss)
    }

    /// Where a lookup ended: the entry that matched (folded at another version), or the empty slot to fill.
    public struct Miss {
        fileprivate var hash: UInt64
        fileprivate var slot: Int
        fileprivate var entry: Int?
    }

    /// The node `sample`'s chain reached under `root`, if it was folded before with its process as it is now:
    /// unchanged since (`changes`, the model's count of changes, is the same) or changed back to the same
    /// `version(pid:)`. Otherwise where to `store` the node folding it gives.
    @inline(__always)
    public mutating func lookup(_ sample: Sample, root: Int32, model: ProcessModel) -> Lookup {
        let count = sample.callchainCount
        var hash = (UInt64(UInt32(bitPattern: sample.pid)) << 32 | UInt64(UInt32(bitPattern: root))) &* 0x9E37_79B9_7F4A_7C15
        for i in 0..<count {
            hash = (hash ^ sample.callchainEntry(i)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
        }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] >= 0 {
            let index = Int(slots[slot])
            let entry = entries[index]
            if entry.hash == hash, entry.count == count, entry.pid == sample.pid, entry.root == root, sameChain(sample, at: entry.start) {
                if entry.checked == model.changes { return .hit(entry.node) }
                guard entry.version == model.version(pid: sample.pid) else { return .miss(Miss(hash: hash, slot: slot, entry: index)) }
                entries[index].checked = model.changes
                return .hit(entry.node)
            }
            slot = (slot + 1) & mask
        }
        return .miss(Miss(hash: hash, slot: slot, entry: nil))
    }

    /// Keeps the node a missed chain folded to.
    public mutating func store(_ node: Int32, for sample: Sample, root: Int32, at miss: Miss, model: ProcessModel) {
        let version = model.version(pid: sample.pid)
        if let index = miss.entry {
            entries[index].node = node
            entries[index].version = version
            entries[index].checked = model.changes
            return
        }
        let count = sample.callchainCount
        guard words.count + count <= ChainCache.wordLimit, entries.count < ChainCache.entryLimit else { return }
        slots[miss.slot] = Int32(entries.count)
        entries.append(Entry(hash: miss.hash, start: words.count, count: count, pid: sample.pid, root: root,
                             version: version, checked: model.changes, node: node))
        for i in 0..<count { words.append(sample.callchainEntry(i)) }
        if entries.count * 2 > slots.count { grow() }
    }

    private func sameChain(_ sample: Sample, at start: Int) -> Bool {
        for i in 0..<sample.callchainCount where words[start + i] != sample.callchainEntry(i) { return false }
        return true
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (index, entry) in entries.enumerated() {
            var slot = Int(truncatingIfNeeded: entry.hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(index)
        }
    }
}
