import ConsentPolicy
import Synchronization

/// Counters the bridge exposes on `/metrics` (Prometheus text format).
///
/// Labels are bounded: outcome and reason code come from fixed code lists, never from
/// message content, so no personal data can reach a label.
package final class BridgeMetrics: Sendable {
    private struct State {
        var decisions: [String: Int] = [:]
        var published = 0
        var withheld = 0
        var relayErrors = 0
    }

    private let state = Mutex(State())

    package init() {}

    package func recordDecision(_ decision: PolicyDecision) {
        let label = decision.code
        state.withLock { $0.decisions[label, default: 0] += 1 }
    }

    package func recordPublished(_ count: Int) { state.withLock { $0.published += count } }
    package func recordWithheld() { state.withLock { $0.withheld += 1 } }
    package func recordRelayError() { state.withLock { $0.relayErrors += 1 } }

    /// Decisions so far by outcome or reject reason code.
    package var decisions: [String: Int] { state.withLock { $0.decisions } }

    /// The counters in Prometheus exposition format.
    package func prometheusText() -> String {
        let snapshot = state.withLock { $0 }
        var lines = ["# TYPE consent_bridge_decisions_total counter"]
        for (code, count) in snapshot.decisions.sorted(by: { $0.key < $1.key }) {
            lines.append("consent_bridge_decisions_total{code=\"\(code)\"} \(count)")
        }
        lines += [
            "# TYPE consent_bridge_outbox_published_total counter", "consent_bridge_outbox_published_total \(snapshot.published)",
            "# TYPE consent_bridge_outbox_withheld_total counter", "consent_bridge_outbox_withheld_total \(snapshot.withheld)",
            "# TYPE consent_bridge_relay_errors_total counter", "consent_bridge_relay_errors_total \(snapshot.relayErrors)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
