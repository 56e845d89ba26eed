/// A named event `-e` can ask for: the PMU type and config behind a perf event name.
public struct EventSpec: Hashable, Sendable {
    /// The name as perf prints it (`cpu-clock`).
    public var name: String
    public var type: EventType
    public var config: UInt64

    public init(name: String, type: EventType, config: UInt64) {
        self.name = name
        self.type = type
        self.config = config
    }

    /// `PERF_COUNT_SW_CPU_CLOCK`
    public static let cpuClock = EventSpec(name: "cpu-clock", type: .software, config: 0)
    /// `PERF_COUNT_SW_TASK_CLOCK`
    public static let taskClock = EventSpec(name: "task-clock", type: .software, config: 1)
    /// `PERF_COUNT_SW_PAGE_FAULTS`
    public static let pageFaults = EventSpec(name: "page-faults", type: .software, config: 2)
    /// `PERF_COUNT_SW_CONTEXT_SWITCHES`
    public static let contextSwitches = EventSpec(name: "context-switches", type: .software, config: 3)
    /// `PERF_COUNT_SW_CPU_MIGRATIONS`
    public static let cpuMigrations = EventSpec(name: "cpu-migrations", type: .software, config: 4)
    /// `PERF_COUNT_SW_DUMMY`: counts nothing; opened for the records of its target (mappings, names, context switches).
    public static let dummy = EventSpec(name: "dummy", type: .software, config: 9)
    /// `PERF_COUNT_HW_CPU_CYCLES`
    public static let cycles = EventSpec(name: "cycles", type: .hardware, config: 0)
    /// `PERF_COUNT_HW_INSTRUCTIONS`
    public static let instructions = EventSpec(name: "instructions", type: .hardware, config: 1)
    /// `PERF_COUNT_HW_CACHE_REFERENCES`
    public static let cacheReferences = EventSpec(name: "cache-references", type: .hardware, config: 2)
    /// `PERF_COUNT_HW_CACHE_MISSES`
    public static let cacheMisses = EventSpec(name: "cache-misses", type: .hardware, config: 3)
    /// `PERF_COUNT_HW_BRANCH_INSTRUCTIONS`
    public static let branches = EventSpec(name: "branches", type: .hardware, config: 4)
    /// `PERF_COUNT_HW_BRANCH_MISSES`
    public static let branchMisses = EventSpec(name: "branch-misses", type: .hardware, config: 5)

    /// Every named event, software first.
    public static let known: [EventSpec] = [
        .cpuClock, .taskClock, .pageFaults, .contextSwitches, .cpuMigrations, .dummy, .cycles, .instructions,
        .cacheReferences, .cacheMisses, .branches, .branchMisses,
    ]

    /// Aliases perf accepts for the same events.
    private static let aliases: [String: EventSpec] = [
        "cpu-clock": .cpuClock, "task-clock": .taskClock,
        "page-faults": .pageFaults, "faults": .pageFaults,
        "context-switches": .contextSwitches, "cs": .contextSwitches,
        "cpu-migrations": .cpuMigrations, "migrations": .cpuMigrations, "dummy": .dummy,
        "cycles": .cycles, "cpu-cycles": .cycles, "instructions": .instructions,
        "cache-references": .cacheReferences, "cache-misses": .cacheMisses,
        "branches": .branches, "branch-instructions": .branches, "branch-misses": .branchMisses,
    ]

    /// Looks up an event by name; nil when unknown.
    public static func named(_ name: String) -> EventSpec? { aliases[name] }

    /// True for software events that count time (their period is in nanoseconds).
    public var isClock: Bool { type == .software && (config == 0 || config == 1) }
}
