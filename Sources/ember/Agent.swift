import ArgumentParser
import Dispatch
import EmberAgent
import EmberRecord

struct Agent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve CPU profiles over HTTP (/debug/pprof/profile) for Parca, Pyroscope and go tool pprof.",
        discussion: "Example: ember agent -a --listen 127.0.0.1:6060"
    )

    @Option(help: ArgumentHelp("Where to listen, HOST:PORT (a loopback address unless --allow-remote).", valueName: "host:port"))
    var listen = "127.0.0.1:6060"

    @Flag(name: .customLong("allow-remote"), help: "Listen on an address other hosts can reach.")
    var allowRemote = false

    @Flag(name: [.customShort("a"), .customLong("all-cpus")], help: "Profile every CPU (the default).")
    var allCPUs = false

    @Option(name: [.customShort("p"), .customLong("pid")], help: "Profile these running processes: PID[,PID...].")
    var pids: String?

    @Option(name: [.customShort("F"), .customLong("freq")], parsing: .unconditional, help: "Samples per second.")
    var frequency = 99

    @Option(name: .customLong("call-graph"), help: "How stacks are taken: fp or dwarf[,SIZE].")
    var callGraph = "fp"

    @Option(name: .customLong("max-seconds"), parsing: .unconditional, help: "The longest profile a request may ask for, in seconds.")
    var maxSeconds = 60.0

    func validate() throws {
        guard frequency >= 1 else { throw ValidationError("-F takes samples per second, 1 or more (got \(frequency))") }
        guard maxSeconds > 0 else { throw ValidationError("--max-seconds must be more than 0 (got \(maxSeconds))") }
        if allCPUs && pids != nil { throw ValidationError("-a and -p choose the target; give one") }
    }

    func run() throws {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (1...65535).contains(port) else {
            throw Diagnostics.fail("--listen takes HOST:PORT, such as 127.0.0.1:6060, not '\(listen)'")
        }
        let host = String(listen[..<colon])
        let loopback = host == "127.0.0.1" || host == "::1" || host == "[::1]" || host == "localhost" || host.hasPrefix("127.")
        guard loopback || allowRemote else {
            throw Diagnostics.fail("--listen \(listen) lets other hosts fetch profiles of this one; add --allow-remote to mean it")
        }
        var options: RecordOptions
        if let pids {
            let list = pids.split(separator: ",").compactMap { Int32($0) }
            guard !list.isEmpty, list.count == pids.split(separator: ",").count else { throw Diagnostics.fail("-p takes PID[,PID...], not '\(pids)'") }
            options = RecordOptions(target: .processes(list))
        } else {
            options = RecordOptions(target: .allCPUs(command: nil))
        }
        options.sampling = .frequency(UInt64(frequency))
        options.samplingIsDefault = false
        do {
            options.callGraph = try Record.callGraphMode(callGraph, framePointer: true)
        } catch let problem as Record.UsageProblem {
            throw Diagnostics.fail(problem.text)
        }
        options.commandLine = ["ember"] + CommandLine.arguments.dropFirst()
        let server = AgentServer(service: ProfileService(template: options), host: host, port: port, maxSeconds: maxSeconds)
        Diagnostics.note("agent: serving http://\(listen)/debug/pprof/profile?seconds=N (no events open between requests)")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do { try await server.run() } catch { failure = error }
            done.signal()
        }
        done.wait()
        if let failure { throw Diagnostics.fail("agent: \(failure)") }
    }
}
