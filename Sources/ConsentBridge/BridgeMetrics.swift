import ConsentContracts
import ConsentPolicy
package import ConsentStorage
import CoreMetrics
import Prometheus
import Synchronization

/// The bridge's metrics: swift-metrics instruments on a Prometheus registry of this
/// application's own (`/metrics` emits it), plus the few totals the process reads back
/// (readiness, the demo's summary, benchmarks).
///
/// Labels are bounded: direction, outcome, stage and reason codes come from fixed lists, and a
/// type label is a contract's `ce_type` or `unknown`, never a value from a message, so no
/// personal data can reach a label. The registry is per application (not the global
/// `MetricsSystem`), so several applications in one process (tests) keep separate counts.
package final class BridgeMetrics: Sendable {
    private struct State {
        var decisions: [String: Int] = [:]
        var withheld = 0
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

        /// Orders stages as the hot path runs them (declaration order).
        package static func < (lhs: Stage, rhs: Stage) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Accumulated time of one stage.
    package struct StageTotals: Sendable, Equatable {
        /// Runs recorded.
        package var runs = 0
        /// Events or rows those runs covered.
        package var items = 0
        /// Their total time, in seconds.
        package var seconds = 0.0

        /// No runs yet.
        package init() {}
    }

    /// What happened to an event, as the `outcome` label says it.
    package enum Outcome: String, Sendable {
        /// `forwarded` (code `accepted`), `anonymized`, or `rejected` (any reject reason).
        case forwarded, anonymized, rejected
    }

    private let state = Mutex(State())
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])

    private let published: CoreMetrics.Counter
    private let withheld: CoreMetrics.Counter
    private let relayErrors: CoreMetrics.Counter
    private let refused: CoreMetrics.Counter
    private let outputContractViolations: CoreMetrics.Counter
    private let misaddressedConsentRecords: CoreMetrics.Counter
    private let consentRecordsWithoutEnvelope: CoreMetrics.Counter
    private let sealedPayloadsErased: CoreMetrics.Counter
    /// Gauges appear once first measured (a 0 before the first count would be a false figure).
    private let gauges = Mutex<[String: CoreMetrics.Gauge]>([:])
    private let decisionLatency: CoreMetrics.Timer
    private let publishLatency: CoreMetrics.Timer
    private let stageSeconds: [Stage: CoreMetrics.FloatingPointCounter]
    private let stageItems: [Stage: CoreMetrics.Counter]

    /// Latency buckets: 1 ms to 30 s.
    static let latencyBuckets: [Duration] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000].map
    { .microseconds(Int64($0 * 1000)) }

    /// Creates the instruments on a Prometheus registry of this instance's own.
    package init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.latencyBuckets
        self.factory = factory
        published = Counter(label: "consent_bridge_outbox_published_total", factory: factory)
        withheld = Counter(label: "consent_bridge_outbox_withheld_total", factory: factory)
        relayErrors = Counter(label: "consent_bridge_relay_errors_total", factory: factory)
        refused = Counter(label: "consent_bridge_outbox_refused_total", factory: factory)
        outputContractViolations = Counter(label: "consent_bridge_output_contract_violations_total", factory: factory)
        misaddressedConsentRecords = Counter(
            label: "consent_bridge_consent_records_misaddressed_total", factory: factory)
        consentRecordsWithoutEnvelope = Counter(
            label: "consent_bridge_consent_records_without_envelope_total", factory: factory)
        sealedPayloadsErased = Counter(label: "consent_bridge_rejection_payloads_erased_total", factory: factory)
        decisionLatency = Timer(label: "consent_bridge_decision_latency_seconds", factory: factory)
        publishLatency = Timer(label: "consent_bridge_publish_latency_seconds", factory: factory)
        stageSeconds = Dictionary(
            uniqueKeysWithValues: Stage.allCases.map {
                (
                    $0,
                    FloatingPointCounter(
                        label: "consent_bridge_stage_seconds_total", dimensions: [("stage", $0.rawValue)],
                        factory: factory)
                )
            })
        stageItems = Dictionary(
            uniqueKeysWithValues: Stage.allCases.map {
                (
                    $0,
                    Counter(
                        label: "consent_bridge_stage_items_total", dimensions: [("stage", $0.rawValue)],
                        factory: factory)
                )
            })
    }

    /// Outbox rows the broker refused (settled as failed), as last counted; `nil` until counted.
    package var outboxFailedRows: Int? { state.withLock { $0.outboxFailed } }
    /// Decisions so far by final code (`accepted`, `anonymized` or a reject reason code).
    package var decisionCounts: [String: Int] { state.withLock { $0.decisions } }
    /// Disclosures the relay withheld so far.
    package var withheldCount: Int { state.withLock { $0.withheld } }

    /// A counter with these (bounded) labels, made once.
    private func counter(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Counter {
        let key = ([name] + dimensions.flatMap { [$0.0, $0.1] }).joined(separator: "\u{1F}")
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: name, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
    }

    /// The gauge called `name`, made on first use.
    /// The gauge called `name` with these (bounded) labels, made on first use.
    private func labeledGauge(_ name: String, _ dimensions: [(String, String)]) -> CoreMetrics.Gauge {
        let key = ([name] + dimensions.flatMap { [$0.0, $0.1] }).joined(separator: "\u{1F}")
        return gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: name, dimensions: dimensions, factory: factory)
            gauges[key] = gauge
            return gauge
        }
    }

    private func gauge(_ name: String) -> CoreMetrics.Gauge {
        gauges.withLock { gauges in
            if let gauge = gauges[name] { return gauge }
            let gauge = Gauge(label: name, factory: factory)
            gauges[name] = gauge
            return gauge
        }
    }

    /// The counters one kind of decision increments, made once per (code, direction, type).
    private struct DecisionSeries: Sendable {
        let decisions: CoreMetrics.Counter
        let events: CoreMetrics.Counter
        let rejections: CoreMetrics.Counter?
    }

    /// The labels of one kind of decision: its final code, direction and type.
    struct DecisionKey: Hashable, Sendable {
        let code: String
        let direction: String
        let type: String
    }

    private let decisionSeries = Mutex<[DecisionKey: DecisionSeries]>([:])

    /// Counts one event's decision: by its final code (`accepted`, `anonymized` or a reject
    /// reason), and by direction, type (a known contract's `ce_type`, else `unknown`) and outcome.
    package func recordDecision(code: String, direction: String = "unknown", knownType: String? = nil) {
        recordDecisions(DecisionKey(code: code, direction: direction, type: knownType ?? "unknown"), count: 1)
    }

    /// Counts the decisions of a recorded batch (`DecisionTally`): each kind once, by how many
    /// of its events were recorded as decided. Those at `excluded` positions are not counted
    /// (skipped as already recorded, or recorded under another id and counted as such).
    func recordDecisions(_ tally: DecisionTally, excluding excluded: [Int] = []) {
        var counts = tally.counts
        for position in excluded { counts[tally.kindOfEvent[position]] -= 1 }
        for (kind, count) in counts.enumerated() where count > 0 {
            recordDecisions(tally.kinds[kind], count: count)
        }
    }

    private func recordDecisions(_ key: DecisionKey, count: Int) {
        let series = decisionSeries.withLock { cache -> DecisionSeries in
            if let series = cache[key] { return series }
            let code = key.code
            let outcome: Outcome = code == "accepted" ? .forwarded : code == "anonymized" ? .anonymized : .rejected
            let series = DecisionSeries(
                decisions: counter("consent_bridge_decisions_total", [("code", code)]),
                events: counter(
                    "consent_bridge_events_total",
                    [("direction", key.direction), ("type", key.type), ("outcome", outcome.rawValue)]),
                rejections: outcome == .rejected ? counter("consent_bridge_rejections_total", [("reason", code)]) : nil)
            cache[key] = series
            return series
        }
        state.withLock { $0.decisions[key.code, default: 0] += count }
        series.decisions.increment(by: count)
        series.events.increment(by: count)
        series.rejections?.increment(by: count)
        if key.code == RejectReason.outputContractViolation.code { outputContractViolations.increment(by: count) }
    }

    /// Counts events not recorded because they were already (`consent_bridge_duplicate_events_total`):
    /// the same event again on its topic (a producer's retry, a redelivery after a crash or a hand-over).
    package func recordDuplicateEvents(_ count: Int, direction: String) {
        guard count > 0 else { return }
        counter("consent_bridge_duplicate_events_total", [("direction", direction)]).increment(by: count)
    }

    /// Counts events recorded under their alternative id because another topic's event holds
    /// their `ce_id` (`consent_bridge_reused_event_ids_total`): two systems use the same ids.
    package func recordReusedEventIDs(_ count: Int, direction: String) {
        guard count > 0 else { return }
        counter("consent_bridge_reused_event_ids_total", [("direction", direction)]).increment(by: count)
    }

    /// What became of a copy addressed to a recipient system (the `outcome` label).
    package enum DeliveryOutcome: String, Sendable {
        /// Delivered to the destination topic.
        case published
        /// Not sent: the consent changed between decision and publishing (R5).
        case withheld
        /// Refused by the broker for what it is (never sent again).
        case failed
    }

    /// Counts one copy that reached, or never reached, a recipient system's inbound topic (R9):
    /// `consent_bridge_deliveries_total{destination, form, outcome}`. The destination is one of
    /// the configured inbound topics and the other labels fixed words: bounded.
    package func recordDelivery(destination: String, identified: Bool, outcome: DeliveryOutcome) {
        // Once per published copy: looked up by a small key, the labels joined only once.
        let key = DeliveryKey(destination: destination, identified: identified, outcome: outcome)
        let counter = deliveries.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = self.counter(
                "consent_bridge_deliveries_total",
                [
                    ("destination", destination), ("form", identified ? "identified" : "anonymous"),
                    ("outcome", outcome.rawValue),
                ])
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    private struct DeliveryKey: Hashable, Sendable {
        let destination: String
        let identified: Bool
        let outcome: DeliveryOutcome
    }

    private let deliveries = Mutex<[DeliveryKey: CoreMetrics.Counter]>([:])

    /// Time from an event's Kafka timestamp to its decision being recorded.
    package func recordDecisionLatency(_ duration: Duration) { decisionLatency.recordNanoseconds(duration.nanoseconds) }
    /// Time from a decision being recorded to its outbox row's delivery report.
    package func recordPublishLatency(_ duration: Duration) { publishLatency.recordNanoseconds(duration.nanoseconds) }

    /// Counts outbox rows delivered and marked published.
    package func recordPublished(_ count: Int) { published.increment(by: count) }
    /// Counts one disclosure the relay withheld (also in `withheldCount`).
    package func recordWithheld() {
        state.withLock { $0.withheld += 1 }
        withheld.increment()
    }
    /// Counts a relay step with a failed delivery (its rows stay pending and are sent again).
    package func recordRelayError() { relayErrors.increment() }
    /// Counts outbox records the broker refused for what they are.
    package func recordRefused(_ count: Int) { refused.increment(by: count) }
    /// Counts consent records whose key is missing or names another person than their body.
    package func recordMisaddressedConsentRecords(_ count: Int) { misaddressedConsentRecords.increment(by: count) }
    /// Counts consent records without the consent contract's envelope (treated as no consent).
    package func recordConsentRecordsWithoutEnvelope(_ count: Int) {
        consentRecordsWithoutEnvelope.increment(by: count)
    }
    /// Counts rejections' sealed payloads erased at the end of their retention.
    package func recordSealedPayloadsErased(_ count: Int) { sealedPayloadsErased.increment(by: count) }

    /// Counts what a sink's batch did about breaches (R10): records it quarantined, by sink and
    /// reason (both from closed sets), and notices its side filed from the breach topic.
    package func recordSinkBatch(_ result: SinkBatchResult, sink: StoreKind) {
        for notice in result.breaches {
            counter(
                "consent_bridge_breaches_detected_total",
                [("sink", "\(sink)"), ("reason", notice.reason), ("rule", notice.rule)]
            )
            .increment()
        }
        if result.breachNoticesReceived > 0 {
            counter("consent_bridge_breach_notices_received_total", [("store", "\(sink)")]).increment(
                by: result.breachNoticesReceived)
        }
    }
    /// Outbox rows recorded and not yet published or withheld, as last counted.
    package func recordOutboxPending(_ count: Int) { gauge("consent_bridge_outbox_pending_rows").record(count) }
    /// Outbox rows settled as failed, as last counted (a gauge, and `outboxFailedRows`).
    package func recordOutboxFailed(_ count: Int) {
        state.withLock { $0.outboxFailed = count }
        gauge("consent_bridge_outbox_failed_rows").record(count)
    }
    /// Records on a sink's topics its store has not applied yet (sum over partitions).
    package func recordSinkLag(_ records: Int, store: StoreKind) {
        labeledGauge("consent_bridge_sink_lag_records", [("store", store.rawValue)]).record(records)
    }

    /// Consent records on the topic the view has not read yet (sum over partitions).
    package func recordConsentViewLag(_ records: Int) {
        gauge("consent_bridge_consent_view_lag_records").record(records)
    }

    /// Adds one run of `stage` over `items` events or rows that took `duration`.
    package func recordStage(_ stage: Stage, items: Int, duration: Duration) {
        let seconds = duration.inSeconds
        state.withLock {
            $0.stages[stage, default: StageTotals()].runs += 1
            $0.stages[stage, default: StageTotals()].items += items
            $0.stages[stage, default: StageTotals()].seconds += seconds
        }
        stageSeconds[stage]?.increment(by: seconds)
        stageItems[stage]?.increment(by: items)
    }

    /// Time `body` as one run of `stage` over `items`.
    package func timed<T>(_ stage: Stage, items: Int, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer { recordStage(stage, items: items, duration: ContinuousClock.now - start) }
        return try await body()
    }

    /// Accumulated time per stage so far.
    package var stages: [Stage: StageTotals] { state.withLock { $0.stages } }

    /// Every metric in Prometheus exposition format.
    package func prometheusText() -> String {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? Int64.max : product + attoseconds / 1_000_000_000
    }
}

/// The decisions of one batch by kind (code, direction, type), counted as they are made and
/// given to the metrics once the batch is recorded (`BridgeMetrics.recordDecisions`): the
/// figures count what was recorded, never an event skipped as already recorded.
struct DecisionTally: Sendable {
    /// Each kind met, in the order met.
    private(set) var kinds: [BridgeMetrics.DecisionKey] = []
    /// How many events of each kind.
    private(set) var counts: [Int] = []
    /// Each event's kind (an index into `kinds`), by its position in the batch.
    private(set) var kindOfEvent: [Int] = []
    private var indexOfKind: [BridgeMetrics.DecisionKey: Int] = [:]

    /// An empty tally with room for `capacity` events.
    init(capacity: Int) { kindOfEvent.reserveCapacity(capacity) }

    /// Adds the next event of the batch.
    mutating func add(code: String, direction: String, knownType: String?) {
        let key = BridgeMetrics.DecisionKey(code: code, direction: direction, type: knownType ?? "unknown")
        let kind: Int
        if let index = indexOfKind[key] {
            kind = index
        } else {
            kind = kinds.count
            kinds.append(key)
            counts.append(0)
            indexOfKind[key] = kind
        }
        counts[kind] += 1
        kindOfEvent.append(kind)
    }
}
