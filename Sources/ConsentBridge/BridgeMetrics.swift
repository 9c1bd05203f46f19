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
        var refused = 0
        var outputContractViolations = 0
        var misaddressedConsentRecords = 0
        /// Outbox rows not yet published or withheld, as last counted (`nil`: not yet).
        var outboxPending: Int?
        /// Outbox rows the broker refused (settled as failed), as last counted in the store.
        var outboxFailed: Int?
        var stages: [Stage: StageTotals] = [:]
    }

    /// The steps of the hot path whose time is measured (a fixed list: bounded labels).
    package enum Stage: String, Sendable, CaseIterable, Comparable {
        /// Waiting for the consent view to reach the consent topic's high watermarks.
        case gate
        /// Deciding a batch and building its rows (pure CPU).
        case decide
        /// The batch's bridge-store transaction.
        case record
        /// Sending outbox rows and waiting for their delivery reports.
        case publish
        /// Marking rows published in the bridge store.
        case mark

        package static func < (lhs: Stage, rhs: Stage) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Accumulated time of one stage.
    package struct StageTotals: Sendable, Equatable {
        package var runs = 0
        package var items = 0
        package var seconds = 0.0
    }

    private let state = Mutex(State())

    package init() {}

    package func recordDecision(_ decision: PolicyDecision) {
        recordDecision(code: decision.code)
    }

    /// Counts one decision by its final code (`accepted`, `anonymized` or a reject reason code).
    package func recordDecision(code: String) {
        state.withLock {
            $0.decisions[code, default: 0] += 1
            if code == RejectReason.outputContractViolation.code { $0.outputContractViolations += 1 }
        }
    }

    package func recordPublished(_ count: Int) { state.withLock { $0.published += count } }
    package func recordWithheld() { state.withLock { $0.withheld += 1 } }
    /// Counts consent records whose key is missing or names another person than their body.
    package func recordMisaddressedConsentRecords(_ count: Int) { state.withLock { $0.misaddressedConsentRecords += count } }
    package func recordRelayError() { state.withLock { $0.relayErrors += 1 } }
    /// Outbox records the broker refused for what they are (settled as failed).
    package func recordRefused(_ count: Int) { state.withLock { $0.refused += count } }
    package func recordOutboxPending(_ count: Int) { state.withLock { $0.outboxPending = count } }
    package func recordOutboxFailed(_ count: Int) { state.withLock { $0.outboxFailed = count } }

    /// Outbox rows the broker refused, as last counted in the store (nil: not yet counted).
    package var outboxFailedRows: Int? { state.withLock { $0.outboxFailed } }
    /// Decisions so far by final code (`accepted`, `anonymized` or a reject reason code).
    package var decisionCounts: [String: Int] { state.withLock { $0.decisions } }
    /// Disclosures the relay withheld so far.
    package var withheldCount: Int { state.withLock { $0.withheld } }

    /// Adds one run of `stage` over `items` events or rows that took `duration`.
    package func recordStage(_ stage: Stage, items: Int, duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        state.withLock {
            $0.stages[stage, default: StageTotals()].runs += 1
            $0.stages[stage, default: StageTotals()].items += items
            $0.stages[stage, default: StageTotals()].seconds += seconds
        }
    }

    /// Time `body` as one run of `stage` over `items`.
    package func timed<T>(_ stage: Stage, items: Int, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { recordStage(stage, items: items, duration: ContinuousClock.now - start) }
        return try await body()
    }

    /// Accumulated time per stage so far.
    package var stages: [Stage: StageTotals] { state.withLock { $0.stages } }

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
            "# HELP consent_bridge_outbox_refused_total Outbox records the broker refused for what they are (e.g. too large); settled as failed, never retried.",
            "# TYPE consent_bridge_outbox_refused_total counter", "consent_bridge_outbox_refused_total \(snapshot.refused)",
            "# HELP consent_bridge_output_contract_violations_total Records the bridge built that failed their own published contract (rejected instead; a defect to alert on).",
            "# TYPE consent_bridge_output_contract_violations_total counter",
            "consent_bridge_output_contract_violations_total \(snapshot.outputContractViolations)",
            "# HELP consent_bridge_consent_records_misaddressed_total Consent records without a key or under another person's key (every person named is treated as without readable consent).",
            "# TYPE consent_bridge_consent_records_misaddressed_total counter",
            "consent_bridge_consent_records_misaddressed_total \(snapshot.misaddressedConsentRecords)",
        ]
        if let pending = snapshot.outboxPending {
            lines += [
                "# HELP consent_bridge_outbox_pending_rows Outbox rows recorded and not yet published or withheld (counted every \(Int(OutboxBacklogGauge.defaultInterval.components.seconds)) s, at most 1000000).",
                "# TYPE consent_bridge_outbox_pending_rows gauge", "consent_bridge_outbox_pending_rows \(pending)",
            ]
        }
        if let failed = snapshot.outboxFailed {
            lines += [
                "# HELP consent_bridge_outbox_failed_rows Outbox rows the broker refused for what they are, settled as failed (all time, from the store).",
                "# TYPE consent_bridge_outbox_failed_rows gauge", "consent_bridge_outbox_failed_rows \(failed)",
            ]
        }
        lines += [
            "# HELP consent_bridge_stage_seconds_total Time spent in each step of the hot path.",
            "# TYPE consent_bridge_stage_seconds_total counter",
        ]
        for (stage, totals) in snapshot.stages.sorted(by: { $0.key < $1.key }) {
            lines.append("consent_bridge_stage_seconds_total{stage=\"\(stage.rawValue)\"} \(totals.seconds)")
        }
        lines += ["# HELP consent_bridge_stage_items_total Events or rows handled by each step.", "# TYPE consent_bridge_stage_items_total counter"]
        for (stage, totals) in snapshot.stages.sorted(by: { $0.key < $1.key }) {
            lines.append("consent_bridge_stage_items_total{stage=\"\(stage.rawValue)\"} \(totals.items)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
