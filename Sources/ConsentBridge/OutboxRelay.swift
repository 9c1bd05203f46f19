package import ConsentConfiguration
import ConsentContracts
package import ConsentKafka
package import ConsentPolicy
package import ConsentResilience
package import ConsentStorage
import Foundation
package import Logging
import ServiceLifecycle

/// Publishes outbox rows in order with the idempotent producers and marks them published
/// after the delivery reports.
///
/// Rows come from the handoff (just committed by a pipeline) or, at start, after an error,
/// after a handoff overflow and when idle, from the store. A store read covers everything
/// committed before it (sequence numbers follow commit order: one connection on SQLite, the
/// outbox's transaction lock on PostgreSQL), so handed rows at or below the highest sequence
/// read are skipped; nothing is published twice or missed. On PostgreSQL several instances
/// share the store: only the relay holding the store's relay lease publishes. It takes its own
/// instance's rows from the handoff while no other instance's row lies between them and what
/// it has covered, and reads every instance's rows from the store otherwise
/// (`takeHandedRun`).
///
/// Before publishing an identified disclosure it re-checks the consent: if it was withdrawn
/// (or no longer covers what is disclosed) since the decision, the row is withheld and the
/// disclosure marked so (R5). An anonymous copy may cross without consent (R2), but it is
/// withheld when the person's consent has been withdrawn since the decision (R5: the anonymous
/// path closes too); like an identified one it is withheld when too large for its cluster, and
/// its notice and receipt wait for its delivery report. Broker or database errors halt
/// and retry.
package struct OutboxRelay: Service {
    /// The bridge store: pending rows are read from it and marked published, withheld or failed.
    package let store: BridgeStore
    /// One producer per side's cluster; `run` closes them after draining.
    package let producers: [BridgeSide: KafkaProducer]
    /// Each side's cluster, confirmed before every batch enqueued for it to be the one its
    /// store positions were read from (`KafkaClusterGuard`). Without it, a recipient's cluster
    /// replaced under the running bridge (a standby taking over, the address pointed elsewhere)
    /// received the identified copies decided after, and the bridge never stopped while that
    /// side published nothing for its pipeline to confirm the cluster before.
    package let destinationClusters: [BridgeSide: KafkaClusterConfirmation]
    /// Topic names: which side's cluster a row goes to.
    package let topics: TopicNames
    /// The consent view an identified disclosure is re-checked against before it is published.
    package let consent: ConsentViewKeeper
    /// The pipelines' consent gate, passed before a page with copies is re-checked: the view
    /// must have read every consent change appended before then (R5). Without it the relay
    /// re-checked against whatever the view held: after a restart, the view as last saved while
    /// its consumer was still joining, so a copy decided before a withdrawal made while the
    /// bridge was down crossed (found in review, 2026-12-07).
    package let gate: ConsentGate
    /// The contracts, for the re-check (the same evaluation as the decision).
    package let catalog: PolicyCatalog
    /// Rows just committed by the pipelines; the store is the fallback.
    package let handoff: OutboxHandoff
    /// Back-off for broker and store errors: the relay halts and retries, never skips.
    package let retry: RetryPolicy
    /// Logs withheld disclosures, refused records, recovery and retries.
    package let logger: Logger
    /// Published, withheld and refused rows, relay errors, publish latency and stage times.
    package let metrics: BridgeMetrics
    /// Most rows read from the store at a time.
    package let batchSize: Int
    /// The largest record each side's producer sends (`message.max.bytes`; 1,000,000 when not
    /// set). A copy (identified or anonymous) larger than that is withheld before its notice
    /// goes out, so the journal never records as disclosed what the client would refuse to send.
    package let maxRecordBytes: [BridgeSide: Int]
    /// Where each side's cluster is, for reading back after a crash.
    package let clients: [BridgeSide: KafkaClientConfiguration]
    /// How long after it is asked to stop the relay may still wait for delivery reports and
    /// publish what is recorded (`relay.shutdown-drain-ms`); see `run`.
    package let shutdownDrainBudget: Duration
    /// The recipient systems' inbound topics (computed once: looked up per published row).
    private let destinationTopics: Set<String>

    /// A relay; it publishes only from `run` (or `publishPending`).
    package init(
        store: BridgeStore, producers: [BridgeSide: KafkaProducer],
        destinationClusters: [BridgeSide: KafkaClusterConfirmation], clients: [BridgeSide: KafkaClientConfiguration],
        topics: TopicNames,
        consent: ConsentViewKeeper, gate: ConsentGate, catalog: PolicyCatalog, handoff: OutboxHandoff,
        retry: RetryPolicy,
        logger: Logger,
        metrics: BridgeMetrics, batchSize: Int = 500,
        maxRecordBytes: [BridgeSide: Int] = [:], shutdownDrainBudget: Duration = Self.defaultShutdownDrainBudget
    ) {
        self.maxRecordBytes = maxRecordBytes
        self.shutdownDrainBudget = shutdownDrainBudget
        self.clients = clients
        self.store = store
        self.producers = producers
        self.destinationClusters = destinationClusters
        self.topics = topics
        self.destinationTopics = topics.inboundTopics
        self.consent = consent
        self.gate = gate
        self.catalog = catalog
        self.handoff = handoff
        self.retry = retry
        self.logger = logger
        self.metrics = metrics
        self.batchSize = batchSize
    }

    /// Marks rows published before a crash, then publishes until graceful shutdown; then settles
    /// what is in flight, publishes what is still pending and closes the producers.
    ///
    /// The shutdown is bounded: once `shutdownDrainBudget` has passed since the relay's graceful
    /// shutdown (at once if the relay is cancelled), the relay stops waiting. A service group
    /// asks it after the services registered after it have stopped (the operator service, the
    /// gauges, the pipelines: normally well within a second of the process's shutdown), so the
    /// budget counts from then, not from the signal. It closes its
    /// producers without flushing (records not yet delivered are purged, so every delivery report
    /// it awaits fails at once), stops reading the store and the clusters, and returns. Rows not
    /// confirmed stay pending and are published at the next start, after the recovery has
    /// marked those that did reach a broker (`PublishedRowRecovery`): nothing is lost or sent
    /// twice.
    package func run() async throws {
        // Several instances on one store: one relay publishes at a time. The others wait, and
        // the first to take the lease after its holder died carries on from the store.
        guard try await waitForTheLease() else {
            await closeProducers(flushing: Self.closingFlush)
            return
        }
        let ending: Ending
        do {
            ending = try await publishWithinTheDrainBudget()
        } catch {
            // Not retried (a replaced cluster, a fatal Kafka error): nothing more is published,
            // what is in flight is purged, and the rows stay pending for the next start.
            await closeProducers(flushing: .zero)
            throw error
        }
        if ending != .drained, case let left = try? await store.pendingOutboxCount(), left != 0 {
            // Counts only: which rows, and about whom, stays in the store.
            logger.warning(
                "Relay stopped with outbox rows pending; the next start publishes them",
                metadata: [
                    "bridge.rows": "\(left.map(String.init) ?? "unknown")",
                    "bridge.reason": "\(ending == .outOfTime ? "drain-budget-spent" : "drain-incomplete")",
                ])
        }
        // Nothing is in flight any more (or it was purged above): closing does not wait.
        await closeProducers(flushing: Self.closingFlush)
    }

    /// Publishes until graceful shutdown, then drains until done or `shutdownDrainBudget` has
    /// passed since the relay's graceful shutdown (see `run`).
    private func publishWithinTheDrainBudget() async throws -> Ending {
        let budget = shutdownDrainBudget
        return try await withThrowingTaskGroup(of: Ending.self) { group in
            group.addTask { try await publishUntilShutdownThenDrain() }
            group.addTask {
                // The budget counts from the graceful shutdown (or the relay's cancellation).
                try? await gracefulShutdown()
                try? await Task.sleep(for: budget)
                return .outOfTime
            }
            let first = try await group.next() ?? .outOfTime
            group.cancelAll()
            guard first == .outOfTime else { return first }
            // Stop waiting: the drain is cancelled (it reads nothing more), and closing the
            // producers ends every wait for a delivery report.
            await closeProducers(flushing: .zero)
            // The drain may have ended just before.
            return (try? await group.next()) == .drained ? .drained : .outOfTime
        }
    }

    /// Closes the producers at once, not one after another: closing one whose cluster is down
    /// can take seconds (the purge's reports, a destroy bounded at 10 s), and a shutdown should
    /// wait for the slowest of them, not for their sum.
    private func closeProducers(flushing timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for producer in producers.values { group.addTask { await producer.close(timeout: timeout) } }
        }
    }

    /// How the relay's work ended (see `run`).
    private enum Ending: Sendable, Equatable {
        /// Nothing was left to publish.
        case drained
        /// Rows stay pending: a delivery or store error during the drain, or a shutdown before
        /// the start-up recovery finished.
        case leftPending
        /// The drain budget was spent.
        case outOfTime
    }

    /// The longest flush when the producers close after the relay's work: nothing is in flight
    /// then, so it only serves what librdkafka still has to report.
    private static let closingFlush: Duration = .seconds(1)

    /// Recovery, then publishing until graceful shutdown, then the drain: what is in flight is
    /// settled and what is recorded published. Cancelled when the drain budget is spent.
    private func publishUntilShutdownThenDrain() async throws -> Ending {
        // Rows published before a crash but not marked: find them instead of sending twice. A
        // shutdown stops the search (nothing has been published yet; it runs at the next start).
        let recovery = self.recovery
        do {
            _ = try await cancelWhenGracefulShutdown {
                try await retry.run("relay recovery", logger: logger) { try await recovery.run() }
            }
        } catch is CancellationError {
            return .leftPending
        }
        // Keep publishing until shutdown, then drain what is already recorded. What the retry
        // policy does not retry (a replaced cluster, a fatal Kafka error) ends the relay: it
        // was once swallowed here, and the relay went on stepping (`run`).
        let leftover = try await cancelWhenGracefulShutdown {
            var cursor = Cursor()
            while !Task.isCancelled {
                let handled: Int
                do {
                    handled = try await retry.run("relay outbox", logger: logger) { try await step(&cursor) }
                } catch is CancellationError {
                    break
                }
                // A shared store is read again after a short pause (other instances' rows are
                // not handed over); otherwise the pipelines' handoff wakes the relay.
                if handled == 0, await !handoff.signal.wait(timeout: .milliseconds(store.isShared ? 20 : 200)) {
                    // Idle: look in the store for rows nobody handed over (e.g. a batch whose
                    // commit succeeded although the store reported an error, then re-recorded).
                    cursor.readsStore = true
                }
            }
            return cursor
        }
        // Rows still in flight are pending in the store: settle them before reading it.
        var cursor = leftover
        do { try await finish(&cursor, keeping: 0) } catch { cursor.needsRecovery = true }
        // Cancelled: the budget is spent, and what is not settled stays pending.
        if Task.isCancelled { return .leftPending }
        if cursor.needsRecovery {
            // A failed step's rows may have reached a broker: they are never sent again unchecked.
            guard (try? await recovery.run()) != nil, !Task.isCancelled else { return .leftPending }
        }
        while !Task.isCancelled {
            guard let published = try? await publishPending() else { return .leftPending }
            if published == 0 { return .drained }
        }
        return .leftPending
    }

    /// Waits until this instance's relay holds the store's relay lease (at once on SQLite);
    /// false when a graceful shutdown came first.
    private func waitForTheLease() async throws -> Bool {
        let store = self.store
        let retry = self.retry
        let logger = self.logger
        let leased = await cancelWhenGracefulShutdown { () -> Bool in
            var waited = false
            while !Task.isCancelled {
                if (try? await retry.run("relay lease", logger: logger) { try await store.takeRelayLease() }) == true {
                    if waited { logger.notice("This instance's relay now publishes the outbox") }
                    return true
                }
                if !waited {
                    logger.notice("Another bridge instance's relay publishes the outbox; this one waits to take over")
                    waited = true
                }
                try? await Task.sleep(for: .seconds(1))
            }
            return false
        }
        return leased == true
    }

    /// The drain budget when none is configured: well below Docker's 30 s `stop_grace_period`
    /// (and `RunCommand`'s 30 s graceful shutdown), leaving time for the services stopped after
    /// the relay and for closing the clients.
    package static let defaultShutdownDrainBudget: Duration = .seconds(20)

    /// How recent a consent-gate pass (usually a pipeline's, before its latest batch) may be for
    /// the relay to re-check copies without a pass of its own: a withdrawal appended longer ago
    /// than this before a copy is handed over always withholds it. Shorter than a copy takes
    /// from decision to hand-over under load, so it widens the window a withdrawal can race a
    /// copy in by little; the copies already in librdkafka's queue race it anyway.
    static let recentGatePass: Duration = .milliseconds(250)

    /// Steps enqueued at once: the next one goes to the producers while the previous one's
    /// delivery reports are awaited and marked (publish latency overlaps the store write).
    /// `bench bridge`'s pipelined passthrough keeps as many batches in flight.
    package static let maxInFlight = 2

    /// Finds rows that reached a broker but were never marked (see `PublishedRowRecovery`).
    private var recovery: PublishedRowRecovery {
        let topics = self.topics
        return PublishedRowRecovery(
            store: store, clients: clients, sideOfTopic: { topics.side(of: $0) }, logger: logger)
    }

    /// Where the relay takes its next rows from, and what it has in flight.
    private struct Cursor: Sendable {
        /// Read pending rows from the store (until a page comes back short).
        var readsStore = true
        /// Highest sequence read from the store: handed rows at or below it were in that read,
        /// and the next read starts after it.
        var highestRead: Int64 = 0
        /// On a shared store: every row up to this sequence was read from the store or taken
        /// from the handoff (see `takeHandedRun`).
        var covered: Int64 = 0
        /// Enqueued steps awaiting delivery reports, oldest first. Their rows are still
        /// pending in the store: a store read must not return them (see `step`).
        var inFlight: [InFlightStep] = []
        /// A step failed: rows may have reached a broker without being marked (a failed
        /// delivery report can mean "possibly persisted"; a mark can fail after publishing).
        /// Look them up before sending anything from the store again.
        var needsRecovery = false
        /// On a shared store: the payloads of this instance's receipts and notices, as built
        /// by its pipelines (handed over), by sequence, until the store read reaches them. The
        /// store builds the same bytes again (`OutboxPayloadDerivation`); taking them from
        /// here spares that for every row this instance decided.
        var builtPayloads: [Int64: [UInt8]] = [:]
        /// Copies (identified or anonymous) their cluster refused, by disclosure id, in the steps
        /// settled last: a notice or receipt of a later step that follows one of them says withheld. (The
        /// store records each refusal as a withholding too, before any such notice goes out:
        /// what is read from the store after a restart says the same; this spares the look-up
        /// for the steps still in flight.)
        var refusedCopies: Set<String> = []
    }

    /// The rows of one step, enqueued with one batch per side. A step is settled as a whole,
    /// so that its rows continue the store's unbroken run of settled rows (see
    /// `BridgeStore.markPublished`) instead of each side's share leaving gaps for the other.
    private struct InFlightStep: Sendable {
        var batches: [(rows: [SentRow], delivery: KafkaPendingDelivery)] = []
        /// The step's notices and receipts that report on copies enqueued in it: they are sent
        /// once those copies' delivery reports are in, saying what became of them.
        var followers: [HeldFollower] = []
        /// The reasons of the disclosures (identified or anonymous) withheld, by id, as the step
        /// found them (and as a later step found those its notices and receipts attached here follow).
        var withheld: [String: String] = [:]
        var enqueuedAt: ContinuousClock.Instant
        var rowCount: Int { batches.reduce(0) { $0 + $1.rows.count } + followers.count }
        var highestSequence: Int64? {
            (batches.compactMap { $0.rows.last?.sequence } + followers.map(\.sent.sequence)).max()
        }
    }

    /// What settling needs of a row sent (its record is the producer's once enqueued).
    private struct SentRow: Sendable {
        var sequence: Int64
        var topic: String
        /// Whether it carries an identified disclosure.
        var isIdentified: Bool
        var createdAt: Date
        /// The disclosure it carries, identified or anonymous, if it is a copy (what its notice
        /// and receipt follow).
        var disclosureID: String?
    }

    /// A disclosure notice or receipt held back until the copies it reports on are delivered:
    /// the journal must not read "disclosed" about a copy that never reached its recipient
    /// (its cluster down, the process stopped, the consent withdrawn before it was sent again).
    private struct HeldFollower: Sendable {
        var sent: SentRow
        var record: OutboxRecord
        var headers: [KafkaHeader]
        var follows: [String]
    }

    /// Publishes the next rows, from the handoff or the store; returns how many it handled.
    private func step(_ cursor: inout Cursor) async throws -> Int {
        do {
            if cursor.needsRecovery {
                try await finish(&cursor, keeping: 0)
                _ = try await recovery.run()
                cursor.needsRecovery = false
            }
            // A shared store: this instance's rows are taken from the handoff as long as they
            // continue what the relay has covered; a gap means rows of another instance (see
            // `takeHandedRun`), and then the store is read.
            if !cursor.readsStore, store.isShared {
                switch takeHandedRun(&cursor) {
                case .none:
                    // Nothing new: settle the oldest step in flight, if any.
                    let oldest = cursor.inFlight.first?.rowCount ?? 0
                    try await finish(&cursor, keeping: cursor.inFlight.count - 1)
                    return oldest
                case .run(let rows):
                    try await start(rows, &cursor)
                    try await finish(&cursor, keeping: Self.maxInFlight - 1)
                    return rows.count
                case .gap:
                    break
                }
            }
            if !cursor.readsStore, !store.isShared {
                switch handoff.take() {
                case .overflowed:
                    logger.notice("Relay fell behind the pipelines; reading the outbox from the store")
                case .rows(let rows):
                    let fresh = rows.filter { $0.sequence > cursor.highestRead }
                    if fresh.isEmpty {
                        // Nothing new: settle the oldest step in flight, if any.
                        let oldest = cursor.inFlight.first?.rowCount ?? 0
                        try await finish(&cursor, keeping: cursor.inFlight.count - 1)
                        return oldest
                    }
                    try await start(fresh, &cursor)
                    try await finish(&cursor, keeping: Self.maxInFlight - 1)
                    return fresh.count
                }
            }
            // Everything handed so far is committed, so the read below covers it. Rows in
            // flight are still pending: those the last reads returned are skipped by reading
            // after them; any others (handed rows) are settled first.
            if let highestInFlight = cursor.inFlight.compactMap(\.highestSequence).max(),
                highestInFlight > cursor.highestRead
            {
                try await finish(&cursor, keeping: 0)
            }
            let rows = try await readStore(&cursor)
            if let last = rows.last { cursor.highestRead = max(cursor.highestRead, last.sequence) }
            cursor.covered = max(cursor.covered, cursor.highestRead)
            try await start(rows, &cursor)
            cursor.readsStore = rows.count == batchSize
            try await finish(&cursor, keeping: cursor.readsStore ? Self.maxInFlight - 1 : 0)
            return rows.count
        } catch is CancellationError {
            throw CancellationError()  // shutdown: `run` settles what is in flight
        } catch {
            // What is left is pending in the store: read all of it, after the recovery.
            cursor.readsStore = true
            cursor.highestRead = 0
            cursor.covered = 0
            cursor.needsRecovery = true
            throw error
        }
    }

    /// What the handoff holds for the relay of a shared store.
    private enum HandedRun {
        /// Nothing after what the relay has covered.
        case none
        /// Rows that continue what the relay has covered, without a gap: publish them.
        case run([StoredOutboxRow])
        /// A gap before (or among) the handed rows, or the handoff overflowed: read the store.
        case gap
    }

    /// Takes this instance's handed rows on a shared store, if they continue what the relay has
    /// covered. Several instances write the store, but outbox rows are numbered under the
    /// outbox's lock, in commit order (`BridgeStore.insertOutbox`): once a row is committed,
    /// every lower number is committed too. So a handed run that starts right after what the
    /// relay has covered has no other instance's row before it, and needs no store read
    /// (reading every row back cost about a third of the bridge's throughput on PostgreSQL,
    /// docs/architecture.md). A gap is another instance's rows, or a number a rolled-back
    /// transaction took; the store read that follows covers it. Another instance's rows after
    /// the last handed row are found by the store read when the relay is idle.
    private func takeHandedRun(_ cursor: inout Cursor) -> HandedRun {
        guard case .rows(let handed) = handoff.take() else {
            logger.notice("Relay fell behind the pipelines; reading the outbox from the store")
            return .gap
        }
        let fresh = handed.filter { $0.sequence > cursor.covered }
        guard let last = fresh.last else { return .none }
        let first = cursor.covered + 1
        if fresh.indices.contains(where: { fresh[$0].sequence != first + Int64($0) }) {
            keepBuiltPayloads(of: fresh, &cursor)
            return .gap
        }
        cursor.covered = last.sequence
        return .run(fresh)
    }

    /// Keeps the payloads this instance's pipelines built for its handed receipts and notices,
    /// for the store read that will return their rows.
    private func keepBuiltPayloads(of handed: [StoredOutboxRow], _ cursor: inout Cursor) {
        // Rows at or below what was read are already past (read before they were handed).
        for row in handed where row.record.derivation != nil && row.sequence > cursor.highestRead {
            cursor.builtPayloads[row.sequence] = row.record.payload
        }
        // Bounded: when the pipelines run far ahead, the store builds the excess.
        if cursor.builtPayloads.count > Self.maxBuiltPayloads { cursor.builtPayloads = [:] }
    }

    /// The next page of pending rows from the store. On a shared store, the receipts and
    /// notices this instance handed over keep the payloads its pipelines built; the store
    /// builds the rest. Otherwise what was handed is covered by this read and dropped.
    private func readStore(_ cursor: inout Cursor) async throws -> [StoredOutboxRow] {
        let taken = handoff.take()
        guard store.isShared else { return try await store.pendingOutbox(after: cursor.highestRead, limit: batchSize) }
        if case .rows(let handed) = taken { keepBuiltPayloads(of: handed, &cursor) }
        var rows = try await store.pendingOutbox(
            after: cursor.highestRead, limit: batchSize, derivingPayloads: false)
        for index in rows.indices where rows[index].record.derivation != nil {
            if let payload = cursor.builtPayloads.removeValue(forKey: rows[index].sequence) {
                rows[index].record.payload = payload
            }
        }
        // Each kept payload is removed when its row is read: pending rows are read in sequence
        // order and none is skipped, so nothing is left behind.
        try await store.derivePayloads(&rows)
        return rows
    }

    /// Most payloads kept for `readStore` (~1 KB each).
    static let maxBuiltPayloads = 20_000

    /// Publishes (or withholds) one page of pending rows read from the store; returns how many
    /// rows it handled.
    @discardableResult
    package func publishPending() async throws -> Int {
        let rows = try await store.pendingOutbox(limit: batchSize)
        var cursor = Cursor()
        try await start(rows, &cursor)
        try await finish(&cursor, keeping: 0)
        return rows.count
    }

    /// Withholds rows whose consent changed since the decision, and enqueues the others in
    /// order, one batch per cluster. The disclosure notice and receipt of a withheld disclosure
    /// are published saying so (`withheld`), never as if it had crossed.
    private func start(_ rows: [StoredOutboxRow], _ cursor: inout Cursor) async throws {
        if rows.isEmpty { return }
        // Each row's headers are read once: what the relay itself needs, and what goes out.
        let headers = rows.map { RelayedHeaders($0.record.headers) }
        // The disclosure each copy carries out (nil for the other rows).
        let copies = rows.indices.map {
            Self.copyID(of: rows[$0].record, headers[$0], destinations: destinationTopics)
        }
        // The copies are re-checked against a view that has read every consent change appended
        // until now, or until a gate pass at most `recentGatePass` ago (a lagging view is an
        // infrastructure error: retried, nothing sent).
        if copies.contains(where: { $0 != nil }) {
            try await gate.waitUntilCurrent(orPassedWithin: Self.recentGatePass)
        }
        let now = Timestamp.now()
        // Reasons of the disclosures withheld, by id: decided on this page as their copies'
        // rows come, or (for notice and receipt rows whose copy was decided on an earlier page)
        // recorded in the store.
        let earlier = Self.copiesBeforePage(copies, headers)
        var withheld: [String: String] = [:]
        // Of those, the ones enqueued in a step still in flight: their notices and receipts are
        // sent after that step's delivery reports, as if they had been on its page.
        var copiesInFlight: [String: Int] = [:]
        if !earlier.isEmpty {
            withheld = try await store.withholdingReasons(disclosureIDs: earlier)
            for id in earlier where withheld[id] == nil && cursor.refusedCopies.contains(id) {
                withheld[id] = Self.refusedByBroker
            }
            copiesInFlight = Self.stepsInFlight(holding: earlier.filter { withheld[$0] == nil }, in: cursor.inFlight)
        }
        // One pass: withheld rows are marked, the others sorted by side (order kept per side).
        // The step keeps only what settling needs of each row; the records go to the producers.
        var sides = SideBatches()
        var held: [HeldFollower] = []
        let onEarlierPages = Set(earlier)
        for (index, row) in rows.enumerated() {
            var record = row.record
            if let disclosureID = copies[index] {
                if let reason = withholdingReason(for: record, headers: headers[index], now: now) {
                    withheld[disclosureID] = reason
                    try await store.markWithheld(sequence: row.sequence, reasonCode: reason)
                    metrics.recordWithheld()
                    metrics.recordDelivery(
                        destination: record.topic, identified: record.disclosureID != nil, outcome: .withheld)
                    logger.notice(
                        "Disclosure withheld: consent changed since the decision, or too large for the broker",
                        metadata: ["bridge.reason": "\(reason)"])
                    continue
                }
            } else if !withheld.isEmpty, case let follows = headers[index].follows, !follows.isEmpty,
                let reason = withheld[follows[0]], follows.allSatisfy({ withheld[$0] != nil })
            {
                // A notice follows its own copy; a receipt follows every copy of its message, and
                // says withheld only when no copy crossed (R5: one role's copy may still go).
                // (It rewrites the payload only: the headers read above still hold.)
                guard
                    let told = try Self.reportingWithheld(record, reason: reason, origin: topics.side(of: record.topic))
                else {
                    try await store.markWithheld(sequence: row.sequence, reasonCode: reason)
                    continue
                }
                record = told
            } else if case let follows = headers[index].follows, !follows.isEmpty,
                onEarlierPages.isEmpty || follows.contains(where: { !onEarlierPages.contains($0) })
            {
                // Reports on a copy enqueued in this step: sent when its delivery report is in.
                held.append(
                    HeldFollower(
                        sent: SentRow(
                            sequence: row.sequence, topic: record.topic, isIdentified: false, createdAt: row.createdAt),
                        record: record, headers: headers[index].published, follows: follows))
                continue
            } else if !copiesInFlight.isEmpty, case let follows = headers[index].follows,
                let latest = follows.lazy.compactMap({ copiesInFlight[$0] }).max()
            {
                // Reports on copies of earlier pages, one at least still in flight: sent after the
                // delivery reports of the latest step holding one, saying what became of them.
                cursor.inFlight[latest].followers.append(
                    HeldFollower(
                        sent: SentRow(
                            sequence: row.sequence, topic: record.topic, isIdentified: false, createdAt: row.createdAt),
                        record: record, headers: headers[index].published, follows: follows))
                for id in follows { if let reason = withheld[id] { cursor.inFlight[latest].withheld[id] = reason } }
                continue
            }
            let sent = SentRow(
                sequence: row.sequence, topic: record.topic, isIdentified: record.disclosureID != nil,
                createdAt: row.createdAt, disclosureID: copies[index])
            let outgoing = KafkaOutgoingRecord(
                topic: record.topic, key: record.key, value: record.payload, headers: headers[index].published)
            sides.append(sent, outgoing, to: topics.side(of: record.topic))
        }
        // What was enqueued is in flight (and settled later) even if the other side fails.
        var step = InFlightStep(
            followers: held, withheld: held.isEmpty ? [:] : withheld, enqueuedAt: ContinuousClock.now)
        do {
            try await enqueue(sides, into: &step.batches)
        } catch {
            // A side's batch was not enqueued (its cluster unconfirmed, its producer refusing):
            // the notices and receipts of this page stay pending and go out with their copies
            // after the store is read again. Kept with the step, they were sent once the other
            // side's reports were in, saying disclosed of copies never sent.
            step.followers = []
            if !step.batches.isEmpty { cursor.inFlight.append(step) }
            throw error
        }
        if !step.batches.isEmpty || !step.followers.isEmpty { cursor.inFlight.append(step) }
    }

    /// Enqueues each side's batch with that side's producer, appending each to `batches` as it
    /// goes: what was enqueued is in flight even if the other side then fails.
    private func enqueue(
        _ sides: SideBatches, into batches: inout [(rows: [SentRow], delivery: KafkaPendingDelivery)]
    ) async throws {
        for (side, batch) in [(BridgeSide.health, sides.health), (.nav, sides.nav)] where !batch.rows.isEmpty {
            guard let producer = producers[side] else { throw RelayError.noProducer }
            guard let cluster = destinationClusters[side] else { throw RelayError.noClusterConfirmation }
            // Asked now, before the batch goes to the producer: a replaced cluster is refused
            // before it receives anything decided on the positions of the one it replaced.
            try await cluster(askedAtOrAfter: .now)
            batches.append((batch.rows, try await producer.enqueue(batch.records)))
        }
    }

    /// The copies the page's notices and receipts follow that are not on the page (decided on
    /// an earlier one), each once; `copies`: the disclosure each row of the page carries out
    /// (`copyID`). A row's copies usually come just before it (a notice right after its copy, a
    /// receipt after its message's copies), so those few rows are looked at first; only ids not
    /// found there are hashed (hashing every id was most of this step's own time).
    static func copiesBeforePage(_ copies: [String?], _ headers: [RelayedHeaders]) -> [String] {
        var unseen: [String] = []
        for index in copies.indices {
            for id in headers[index].follows {
                let nearby = copies[max(0, index - Self.copiesLookedBack)..<index]
                if !nearby.contains(where: { $0 == id }) { unseen.append(id) }
            }
        }
        if unseen.isEmpty { return [] }
        return Array(Set(unseen).subtracting(copies.lazy.compactMap { $0 }))
    }

    /// The disclosure an outbox row carries out, or nil when the row is no copy: an identified
    /// copy's disclosure id, or an anonymous copy's. An anonymous copy's row has no disclosure
    /// id (R2: it gets no consent re-check) but is a row on a recipient's inbound topic
    /// (`destinations`) reporting on nothing, and its `ce_id` is its disclosure's id, which its
    /// notice and receipt follow (`BridgeRecordBuilder`).
    static func copyID(of record: OutboxRecord, _ headers: RelayedHeaders, destinations: Set<String>) -> String? {
        if let disclosureID = record.disclosureID { return disclosureID }
        guard headers.follows.isEmpty, destinations.contains(record.topic) else { return nil }
        return headers.id
    }

    /// How many rows before a notice or receipt are searched for the copies it follows.
    private static let copiesLookedBack = 8

    /// For each of `ids` (copies decided on earlier pages) enqueued in a step still in flight,
    /// the index of the latest such step. Needed once per page at most (for the notices and
    /// receipts at its start), and those copies are usually the last rows of the step before:
    /// each step is searched from its end, and the search stops once every id is found.
    private static func stepsInFlight(holding ids: [String], in steps: [InFlightStep]) -> [String: Int] {
        var found: [String: Int] = [:]
        if ids.isEmpty { return found }
        for index in steps.indices.reversed() {
            for batch in steps[index].batches {
                for row in batch.rows.reversed() {
                    guard let id = row.disclosureID, ids.contains(id), found[id] == nil else { continue }
                    found[id] = index
                    if found.count == ids.count { return found }
                }
            }
        }
        return found
    }

    /// The reason a notice or receipt gives for a copy its cluster refused.
    static let refusedByBroker = "refused-by-broker"

    /// Most refused copies remembered across steps (`Cursor.refusedCopies`); refusals are rare,
    /// and only the last steps' matter.
    private static let maxRefusedCopiesKept = 10_000

    /// One side's share of a step: what settling needs of each row, and the records to send.
    private struct SideBatch {
        var rows: [SentRow] = []
        var records: [KafkaOutgoingRecord] = []

        mutating func append(_ row: SentRow, _ record: KafkaOutgoingRecord) {
            rows.append(row)
            records.append(record)
        }
    }

    /// A step's rows by the side whose cluster they go to (order kept per side).
    private struct SideBatches {
        var health = SideBatch()
        var nav = SideBatch()

        mutating func append(_ row: SentRow, _ record: KafkaOutgoingRecord, to side: BridgeSide) {
            if side == .health { health.append(row, record) } else { nav.append(row, record) }
        }
    }

    /// What the relay reads of an outbox row's headers, in one pass: its own internal headers
    /// (never published) and the headers that go out.
    struct RelayedHeaders {
        /// The headers that go out: all but the internal ones, in their order.
        var published: [KafkaHeader] = []
        /// `ce_type`, the person a copy is about and the categories it holds
        /// (comma-separated), as bytes: only the re-check of an identified copy reads them as
        /// text, so the other rows make no strings of them. `ce_id` likewise: only an anonymous
        /// copy's is read (its disclosure id).
        private var typeBytes: [UInt8]?
        private var idBytes: [UInt8]?
        private var subjectBytes: [UInt8]?
        private var categoriesBytes: [UInt8]?
        /// `ce_type`.
        var type: String? { Self.text(typeBytes) }
        /// `ce_id`.
        var id: String? { Self.text(idBytes) }
        /// The person a copy is about (identified, or anonymous since the relay re-checks those too).
        var subject: String? { Self.text(subjectBytes) }
        /// The categories an identified disclosure holds, comma-separated.
        var categories: String? { Self.text(categoriesBytes) }
        /// The copies a notice or receipt reports on (none for other rows).
        var follows: [String] = []
        /// Bytes of all names and values, the internal ones included (the size check counts them).
        var size = 0

        init(_ headers: [MessageHeader]) {
            published.reserveCapacity(headers.count)
            for header in headers {
                size += header.name.utf8.count + (header.value?.count ?? 0)
                guard header.name.hasPrefix(BridgeHeaders.internalPrefix) else {
                    if typeBytes == nil, header.name == BridgeHeaders.type { typeBytes = header.value }
                    if idBytes == nil, header.name == BridgeHeaders.id { idBytes = header.value }
                    published.append(KafkaHeader(name: header.name, value: header.value))
                    continue
                }
                // The first of each counts, as for `OutboxRecord.headerText`.
                switch header.name {
                case BridgeHeaders.internalSubject where subjectBytes == nil: subjectBytes = header.value
                case BridgeHeaders.internalCategories where categoriesBytes == nil: categoriesBytes = header.value
                case BridgeHeaders.internalFollows where follows.isEmpty:
                    // Usually one copy: no split.
                    let text = Self.text(header.value) ?? ""
                    follows =
                        text.utf8.contains(UInt8(ascii: ",")) ? text.split(separator: ",").map(String.init) : [text]
                default: break
                }
            }
        }

        private static func text(_ value: [UInt8]?) -> String? {
            value.map { String(decoding: $0, as: UTF8.self) }
        }
    }

    /// A disclosure notice or receipt rewritten to say the disclosure was withheld; nil for a
    /// disclosure notice to NAV, which is then not sent at all (settled withheld). NAV learns
    /// only that its event was not delivered, never why (R15: the EPJ consent state is health
    /// information).
    static func reportingWithheld(_ record: OutboxRecord, reason: String, origin: BridgeSide) throws -> OutboxRecord? {
        let told = origin == .nav ? BridgeReceipt.notDelivered : reason
        let type = record.headerText(BridgeHeaders.type)
        let json = try StrictJSON.parse(record.payload)
        var rewritten = record
        switch type {
        case DisclosureNotice.ceType:
            // R15: what NAV is told about its own events says nothing of the person's consent.
            // An event refused when decided gets no notice; one withheld after (the consent
            // withdrawn or narrowed meanwhile) would get one saying so, which tells NAV the
            // consent covered it and then changed. So NAV gets none: nothing was disclosed, and
            // its receipt says not-delivered either way.
            if origin == .nav { return nil }
            rewritten.payload = try DisclosureNotice(json: json).withheld(reason: told).serializedBytes()
        case BridgeReceipt.ceType:
            let receipt = try BridgeReceipt(json: json).withheld(reason: reason)
            rewritten.payload = (origin == .nav ? BridgeRecordBuilder.toldToNAV(receipt) : receipt).serializedBytes()
        default:
            throw RelayError.unexpectedFollower
        }
        return rewritten
    }

    /// Awaits the delivery reports of the oldest steps in flight until at most `keeping`
    /// remain, marking each step's published rows. On a failure the remaining steps are
    /// still awaited and their published rows marked, so nothing delivered is left pending.
    private func finish(_ cursor: inout Cursor, keeping: Int) async throws {
        while cursor.inFlight.count > max(keeping, 0) {
            let oldest = cursor.inFlight.removeFirst()
            do {
                try await settle(oldest, refusedCopies: &cursor.refusedCopies)
            } catch {
                let rest = cursor.inFlight
                cursor.inFlight = []
                for step in rest { try? await settle(step, refusedCopies: &cursor.refusedCopies) }
                throw error
            }
        }
    }

    /// Awaits one step's delivery reports and marks the published rows (and the relay's
    /// positions); throws the first failure after marking what made it. `refusedCopies` holds
    /// the copies earlier steps' clusters refused (a held notice or receipt may follow one of
    /// them too) and gets this step's.
    private func settle(_ step: InFlightStep, refusedCopies: inout Set<String>) async throws {
        var published: [Int64] = []
        var positions: [KafkaTopicPartition: Int64] = [:]
        var failure: (any Error)?
        var refused: [String: [Int64]] = [:]
        // Copies (identified or anonymous) the recipient's cluster refused, by disclosure id.
        var refusedHere: Set<String> = []
        func collect(_ batches: [(rows: [SentRow], delivery: KafkaPendingDelivery)]) async {
            for batch in batches {
                for (row, result) in zip(batch.rows, await batch.delivery.results()) {
                    switch result {
                    case .success(let report):
                        published.append(row.sequence)
                        // Recorded → delivered, for the rows that carry an event across.
                        if destinationTopics.contains(row.topic) {
                            metrics.recordPublishLatency(.seconds(max(0, Date().timeIntervalSince(row.createdAt))))
                            metrics.recordDelivery(
                                destination: row.topic, identified: row.isIdentified, outcome: .published)
                        }
                        let partition = KafkaTopicPartition(topic: report.topic, partition: report.partition)
                        positions[partition] = max(positions[partition] ?? 0, report.offset + 1)
                    case .failure(let error) where error.isRecordRefused:
                        // Refused for what it is: sending it again cannot succeed, so it is settled
                        // as failed and the rows behind it go on.
                        refused[error.code.name, default: []].append(row.sequence)
                        if let disclosureID = row.disclosureID { refusedHere.insert(disclosureID) }
                        if destinationTopics.contains(row.topic) {
                            metrics.recordDelivery(
                                destination: row.topic, identified: row.isIdentified, outcome: .failed)
                        }
                    case .failure(let error):
                        // The row stays pending and is sent again (after the recovery looked for it).
                        if failure == nil { failure = error }
                    }
                }
            }
        }
        /// Settles the refused rows collected so far as failed (a refused copy as withheld too).
        func settleRefused() async throws {
            for (code, sequences) in refused.sorted(by: { $0.key < $1.key }) {
                try await store.markFailed(
                    sequences: sequences, errorCode: code, withholdingReason: Self.refusedByBroker)
                metrics.recordRefused(sequences.count)
                logger.error(
                    "Broker refused outbox records; settled as failed",
                    metadata: ["kafka.error": "\(code)", "bridge.rows": "\(sequences.count)"])
            }
            refused = [:]
        }
        await collect(step.batches)
        if !refusedHere.isEmpty {
            refusedCopies.formUnion(refusedHere)
            if refusedCopies.count > Self.maxRefusedCopiesKept { refusedCopies = refusedHere }
        }
        // The refusals are recorded (a refused copy as withheld beside its disclosure) before
        // any notice or receipt says so. One still pending when the process stops (killed, or
        // its cluster unreachable) goes out after the restart on the store's verdict, when
        // `refusedCopies` is gone: while the store kept a refusal as the row's failure only, it
        // then said disclosed (found by an outside audit). And a refusal recorded after the
        // notices went out could be lost to a crash in between: the copy, still pending, would be
        // sent again after the restart although its notice already said withheld.
        try await settleRefused()
        // The held notices and receipts, now that their copies' fate is known. After a failure
        // that leaves rows pending they stay pending too, and go out with their copies.
        if failure == nil, !step.followers.isEmpty {
            do {
                await collect(try await enqueueFollowers(of: step, refusedCopies: refusedCopies))
            } catch {
                failure = error
            }
        }
        // Notices and receipts refused themselves.
        try await settleRefused()
        metrics.recordStage(.publish, items: step.rowCount, duration: ContinuousClock.now - step.enqueuedAt)
        let start = ContinuousClock.now
        try await store.markPublished(
            sequences: published,
            positions: positions.map {
                ConsumerOffset(
                    consumerGroup: BridgeStore.relayPublishedGroup, topic: $0.key.topic, partition: $0.key.partition,
                    nextOffset: $0.value)
            })
        metrics.recordStage(.mark, items: published.count, duration: ContinuousClock.now - start)
        metrics.recordPublished(published.count)
        if let failure {
            metrics.recordRelayError()
            throw failure
        }
    }

    /// Enqueues a step's held notices and receipts, one batch per side: each says withheld
    /// when none of the copies it reports on crossed (withheld when the step began, or refused
    /// by the recipient's cluster), as it would have had the relay withheld them.
    private func enqueueFollowers(of step: InFlightStep, refusedCopies: Set<String>) async throws
        -> [(rows: [SentRow], delivery: KafkaPendingDelivery)]
    {
        var sides = SideBatches()
        for follower in step.followers {
            var record = follower.record
            let reasons = follower.follows.map {
                step.withheld[$0] ?? (refusedCopies.contains($0) ? Self.refusedByBroker : nil)
            }
            if case let first?? = reasons.first, reasons.allSatisfy({ $0 != nil }) {
                guard
                    let told = try Self.reportingWithheld(record, reason: first, origin: topics.side(of: record.topic))
                else {
                    try await store.markWithheld(sequence: follower.sent.sequence, reasonCode: first)
                    continue
                }
                record = told
            }
            let outgoing = KafkaOutgoingRecord(
                topic: record.topic, key: record.key, value: record.payload, headers: follower.headers)
            sides.append(follower.sent, outgoing, to: topics.side(of: record.topic))
        }
        var batches: [(rows: [SentRow], delivery: KafkaPendingDelivery)] = []
        try await enqueue(sides, into: &batches)
        return batches
    }

    /// Why a copy may no longer be published, or `nil` when it may. Any copy larger than its
    /// cluster takes is withheld; an identified one is re-checked against the consent, an
    /// anonymous one against whether a withdrawal has closed the anonymous path (R5).
    private func withholdingReason(for record: OutboxRecord, headers: RelayedHeaders, now: Timestamp) -> String? {
        let size = record.payload.count + (record.key?.count ?? 0) + headers.size
        if size > maxRecordBytes[topics.side(of: record.topic)] ?? 1_000_000 { return "too-large-for-broker" }
        guard record.disclosureID != nil else {
            // An anonymous copy may cross without consent (R2), but not once a withdrawal has
            // closed the anonymous path for its person (R5): the decision's own rule, against the
            // consent as it is now. It is not withheld for lacking categories, nor (a row
            // recorded before its person went with it) for lacking the person: such a copy
            // cannot be re-checked, and crosses as it did.
            guard let subject = headers.subject else { return nil }
            return PolicyEngine.recheckAnonymous(consent.state(for: subject))?.code
        }
        // The copy is known by where it goes: each role's system has a topic of its own (R9).
        // Every identified copy is recorded with its person and its categories (an empty list
        // when it carries none); without them it cannot be re-checked, so it does not cross.
        guard let subject = headers.subject, let recordedCategories = headers.categories, let type = headers.type,
            let plan = catalog.plan(forCEType: type), let copy = plan.copy(publishedOn: record.topic)
        else { return "consent-unverifiable" }
        // The policy's own evaluation, against the consent as it is now: a consent withdrawn,
        // expired, not yet in force, narrowed to another direction, other roles or fewer
        // categories since the decision stops the disclosure (R5); other roles' copies are
        // checked on their own.
        var disclosed: ConsentCategories = []
        // Comma-separated names, empty ones passed over; split on the bytes (splitting the
        // string walks it by grapheme: ~1% of the bridge's CPU).
        var rest = Substring(recordedCategories)
        while !rest.isEmpty {
            let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            let name = rest[..<comma]
            rest = comma == rest.endIndex ? "" : rest[rest.utf8.index(after: comma)...]
            if name.isEmpty { continue }
            guard let category = ConsentCategories(name: name) else { return "consent-unverifiable" }
            disclosed.insert(category)
        }
        return PolicyEngine.recheck(
            consent.state(for: subject), plan: plan, copy: copy, disclosedCategories: disclosed, now: now)?
            .code
    }

    /// An error of the relay itself, not of a broker or the store.
    package enum RelayError: Error, CustomStringConvertible {
        /// No producer for the side a row's topic belongs to.
        case noProducer
        /// No confirmation of the cluster of the side a row's topic belongs to (nothing is
        /// published to a cluster the guard does not watch).
        case noClusterConfirmation
        /// A row that follows a withheld disclosure is neither a disclosure notice nor a receipt.
        case unexpectedFollower
        /// Fixed text, safe to log.
        package var description: String {
            switch self {
            case .noProducer: "no producer for the topic's side"
            case .noClusterConfirmation: "no cluster confirmation for the topic's side"
            case .unexpectedFollower: "an outbox row following a disclosure is neither a notice nor a receipt"
            }
        }
    }
}
