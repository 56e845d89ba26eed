import Prometheus

/// What `GET /metrics` reports, in Prometheus text through swift-prometheus: profiles served, recordings opened for
/// them, samples recorded, events lost, ring memory held, and the push side's windows sent, failed and dropped.
public final class AgentMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    let served: Counter
    let recordings: Counter
    let samples: Counter
    let lost: Counter
    /// Bytes of ring buffer the agent holds mapped: zero between requests, unless --continuous keeps a window.
    let ringBytes: Gauge
    let pushes: Counter
    let pushFailures: Counter
    let pushDropped: Counter

    public init() {
        served = registry.makeCounter(name: "ember_agent_profiles_served_total", help: "Profiles answered or pushed.")
        recordings = registry.makeCounter(name: "ember_agent_recordings_total", help: "Recordings opened on request (concurrent requests share one).")
        samples = registry.makeCounter(name: "ember_agent_samples_total", help: "Samples in the profiles answered or pushed.")
        lost = registry.makeCounter(name: "ember_agent_lost_events_total", help: "Events the kernel could not put in a full ring.")
        ringBytes = registry.makeGauge(name: "ember_agent_ring_bytes", help: "Ring buffer memory mapped now.")
        pushes = registry.makeCounter(name: "ember_agent_pushes_total", help: "Windows pushed to the --push server.")
        pushFailures = registry.makeCounter(name: "ember_agent_push_failures_total", help: "Push attempts that failed.")
        pushDropped = registry.makeCounter(name: "ember_agent_push_dropped_total", help: "Windows dropped unsent from a full push queue.")
    }

    /// The exposition text.
    public func text() -> String { registry.emitToString() }
}
