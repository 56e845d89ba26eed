// Benchmark 12: start-up, the fixed cost every command pays: `ember --version` against `perf --version`, and
// `ember script --help` against `perf script -h` (perf's usage; its --help opens the man page), taken in turns
// (interleaved, so that a slow spell of the host falls on both), spawned directly (no time(1) wrapper, whose own
// start-up would be a large part of a few milliseconds), medians compared.

import Foundation

func benchStartup(_ ctx: Context) {
    ctx.section("12. start-up: --version and a command's help, interleaved with perf's")
    let turns = max(ctx.runs * 10, 50)
    let pairs: [(name: String, ember: [String], perf: [String])] = [
        ("12a --version", [ctx.ember, "--version"], [ctx.perf, "--version"]),
        ("12b script --help", [ctx.ember, "script", "--help"], [ctx.perf, "script", "-h"]),
    ]
    for pair in pairs {
        var ember: [Double] = [], perf: [Double] = []
        for _ in 0..<turns {
            if let t = spawnSeconds(pair.ember) { ember.append(t) }
            if let t = spawnSeconds(pair.perf) { perf.append(t) }
        }
        guard !ember.isEmpty, !perf.isEmpty else {
            ctx.rows.append(Row(name: pair.name, perf: "-", ember: "-", ratio: "n/a", note: "a command could not be started"))
            continue
        }
        let e = Stat(ember).median, p = Stat(perf).median
        ctx.info("\(pair.name): medians of \(turns) turns: ember \(fmt(e * 1000, 2)) ms, perf \(fmt(p * 1000, 2)) ms")
        ctx.rows.append(Row(name: "\(pair.name) (median of \(turns))", perf: "\(fmt(p * 1000, 2)) ms", ember: "\(fmt(e * 1000, 2)) ms",
                            ratio: fmt(e / p, 2) + "x", note: "ember's time / perf's (goal <= 1.5x)"))
    }
}

/// Wall seconds from spawning `argv` (output to /dev/null, any exit status) to reaping it; nil if it cannot start.
private func spawnSeconds(_ argv: [String]) -> Double? {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    var pid: pid_t = 0
    let start = monotonicSeconds()
    guard posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ) == 0 else { return nil }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    return monotonicSeconds() - start
}
