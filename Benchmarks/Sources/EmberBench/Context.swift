// Shared state of a benchmark session: options, scratch files, result rows.

import Foundation

struct Options {
    var ember = ""
    var demo = ""
    /// A workload built without frame pointers, for the DWARF unwinding benchmark.
    var noFramePointers = ""
    /// The probe test program (Tests/Programs/probed.c), for the uprobe benchmark.
    var probed = ""
    /// The Swift async workload (Tests/Programs/asyncchain.swift), for the async chains benchmark.
    var asyncChain = ""
    /// The heap shim's cost workloads (Tests/Programs/mallocloop.c, objectchurn.swift).
    var heapC = ""
    var heapSwift = ""
    /// FlameGraph's stackcollapse-perf.pl, for section 1's pipeline (not part of Ember; given when at hand).
    var stackcollapse = ""
    var perf = "perf"
    var workdir: String?
    var runs = 3
    /// Only these benchmark sections (1-9); all when empty.
    var only: Set<Int> = []

    static let usage = """
        usage: EmberBench --ember PATH/TO/ember --demo PATH/TO/demo [--workdir DIR] [--runs N] [--perf PATH]

          --ember PATH   the ember binary to benchmark (e.g. .build/release/ember)
          --demo PATH    the demo workload (gcc -O2 -g -fno-omit-frame-pointer Demo/demo.c)
          --no-fp PATH   a workload without frame pointers (gcc -O2 -g -fomit-frame-pointer Tests/Programs/chain.c)
          --probed PATH  the uprobe workload (gcc -O2 -g Tests/Programs/probed.c)
          --async PATH   the Swift async workload (swiftc -O -parse-as-library Tests/Programs/asyncchain.swift)
          --heap-c PATH  the C allocation loop (gcc -O2 -fno-builtin Tests/Programs/mallocloop.c)
          --heap-swift PATH  the Swift object churn (swiftc -O Tests/Programs/objectchurn.swift)
          --stackcollapse PATH  FlameGraph's stackcollapse-perf.pl: section 1 also times perf script piped into it
          --workdir DIR  where recordings go (default: a fresh temporary directory, removed at exit)
          --runs N       runs per measurement; best and median are reported (default 3)
          --perf PATH    the perf binary (default: perf from PATH)
          --only N,...   only these sections (1 folded, 2 script, 3 unwind, 4 overhead, 5 drain, 6 probes, 7 latency,
                         8 names, 9 flight recorder, 10 exports, 11 agent, 12 start-up, 13 async chains, 14 fold throughput, 15 top,
                         16 heap shim cost)
        """

    static func parse(_ args: [String]) throws -> Options {
        var options = Options()
        var i = 0
        func value(_ flag: String) throws -> String {
            i += 1
            guard i < args.count else { throw BenchError.message("\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let arg = args[i]
            switch arg {
            case "--ember": options.ember = try value(arg)
            case "--demo": options.demo = try value(arg)
            case "--no-fp": options.noFramePointers = try value(arg)
            case "--probed": options.probed = try value(arg)
            case "--async": options.asyncChain = try value(arg)
            case "--heap-c": options.heapC = try value(arg)
            case "--heap-swift": options.heapSwift = try value(arg)
            case "--stackcollapse": options.stackcollapse = try value(arg)
            case "--perf": options.perf = try value(arg)
            case "--workdir": options.workdir = try value(arg)
            case "--runs":
                let text = try value(arg)
                guard let n = Int(text), n >= 1 else { throw BenchError.message("--runs needs a positive integer, got \(text)") }
                options.runs = n
            case "--only":
                let text = try value(arg)
                options.only = Set(text.split(separator: ",").compactMap { Int($0) })
                guard !options.only.isEmpty else { throw BenchError.message("--only needs section numbers, got \(text)") }
            case "-h", "--help":
                say(usage)
                exit(0)
            default:
                throw BenchError.message("unknown argument \(arg)")
            }
            i += 1
        }
        if options.ember.isEmpty || options.demo.isEmpty {
            throw BenchError.message("--ember and --demo are required")
        }
        return options
    }
}

/// One line of the final table.
struct Row {
    var name: String
    var perf: String
    var ember: String
    var ratio: String
    var note: String = ""
}

final class Context {
    let options: Options
    let workdir: String
    let removeWorkdirAtExit: Bool
    var rows: [Row] = []

    init(options: Options) throws {
        self.options = options
        if let dir = options.workdir {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            workdir = dir
            removeWorkdirAtExit = false
        } else {
            var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("ember-bench.XXXXXX").utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw BenchError.message("cannot create a temporary directory")
            }
            workdir = String(cString: made)
            removeWorkdirAtExit = true
        }
    }

    var ember: String { options.ember }
    var demo: String { options.demo }
    var noFramePointers: String { options.noFramePointers }
    var probed: String { options.probed }
    var asyncChain: String { options.asyncChain }
    var heapC: String { options.heapC }
    var heapSwift: String { options.heapSwift }
    var stackcollapse: String { options.stackcollapse }
    var perf: String { options.perf }
    var runs: Int { options.runs }

    func path(_ name: String) -> String { (workdir as NSString).appendingPathComponent(name) }

    /// Scratch file that receives a child's stderr.
    var stderrPath: String { path("stderr.txt") }

    func remove(_ file: String) { try? FileManager.default.removeItem(atPath: file) }

    func cleanUp() {
        if removeWorkdirAtExit { remove(workdir) }
    }

    func section(_ title: String) {
        say("\n== \(title)")
    }

    func info(_ text: String) { say("   \(text)") }

    func failure(_ what: String, _ error: Error) {
        say("   ! \(what) failed: \(error)")
    }

    /// Runs `body`, printing and swallowing any error; returns nil on error.
    func attempt<T>(_ what: String, _ body: () throws -> T) -> T? {
        do { return try body() } catch {
            failure(what, error)
            return nil
        }
    }
}
