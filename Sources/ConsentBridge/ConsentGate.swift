package import ConsentKafka
import Logging
import Synchronization

/// The consent gate: before a batch is decided, the consent view must have read
/// `health.consent` up to the high watermarks fetched *after* the batch was fetched.
///
/// Any consent change appended before an event was appended is then in the view when the
/// event is decided (R5). While the view lags, the batch waits and the bridge is not ready.
package struct ConsentGate: Sendable {
    /// The consent view whose positions must reach the watermarks.
    package let keeper: ConsentViewKeeper
    /// The consent topic (`health.consent`).
    package let consentTopic: String
    /// Partitions of the consent topic, as last asked (see `partitionCountInterval`): the gate
    /// asks for the watermarks of all of them.
    package var partitionCount: Int32 { partitions.known.count }
    /// A client on the consent topic's cluster that does not fetch (see
    /// `KafkaAdmin.highWatermarks`: a consumer's query can wait behind its own long poll).
    package let watermarkSource: KafkaAdmin
    /// Longest wait for the view before `waitUntilCurrent` throws `ConsentViewLagging`.
    package let timeout: Duration
    /// Asked once the view is current: the consent cluster is still the one the view read from.
    package let consentCluster: KafkaClusterConfirmation
    /// When the watermarks of the latest pass were fetched (shared by the gate's copies).
    private let latestPass = LatestPass()
    /// The consent topic's partition count and when it was asked (shared by the gate's copies).
    private let partitions: KnownPartitions

    /// How often the gate asks the consent topic's partition count again. Partitions added to
    /// `health.consent` while the bridge runs hold records the view must read too: keyed by
    /// person, a withdrawal can land on a new partition while the grant it revokes sits on an
    /// old one. Asked once at start only, the gate never waited for them.
    package static let partitionCountInterval: Duration = .seconds(1)

    /// A gate on `keeper`; `timeout` defaults to 30 s. `consentCluster` has no default, so
    /// that no gate is left unconfirmed by omission (`.unchecked` is said where it is meant).
    package init(
        keeper: ConsentViewKeeper, consentTopic: String, partitionCount: Int32, watermarkSource: KafkaAdmin,
        timeout: Duration = .seconds(30), consentCluster: KafkaClusterConfirmation
    ) {
        self.keeper = keeper
        self.consentTopic = consentTopic
        self.partitions = KnownPartitions(count: partitionCount)
        self.watermarkSource = watermarkSource
        self.timeout = timeout
        self.consentCluster = consentCluster
    }

    /// Current high watermarks of every consent partition (one request, not one per partition),
    /// the partitions counted at most `partitionCountInterval` ago.
    package func highWatermarks() async throws -> [Int32: Int64] {
        let count = try await currentPartitionCount()
        return try await watermarkSource.highWatermarks(
            topic: consentTopic, partitions: Array(0..<count), timeout: .seconds(5))
    }

    /// The consent topic's partition count, asked again when the last answer is older than
    /// `partitionCountInterval`. A cluster-wide metadata request, as at start: one naming the
    /// topic would let a broker with automatic topic creation create a deleted consent topic.
    private func currentPartitionCount() async throws -> Int32 {
        let known = partitions.known
        if let asked = known.askedAt, ContinuousClock.now - asked < Self.partitionCountInterval { return known.count }
        let asked = ContinuousClock.now
        guard let count = try await watermarkSource.metadata(timeout: .seconds(5)).partitionCount(of: consentTopic)
        else {
            throw KafkaError(code: .unknownTopicOrPartition, operation: "consent topic partitions")
        }
        partitions.record(count: count, askedAt: asked)
        return count
    }

    /// Why the view is not current with the consent log ending at `required` (nil: it is):
    /// the gate's judgement, which readiness reports as well.
    package enum Staleness: Sendable, Equatable {
        /// These partitions' logs end before what the view has read (see `waitUntilCurrent`).
        case logEndsBeforeView([Int32])
        /// The view has not yet read up to the log's end.
        case notCaughtUp
    }

    /// The view's staleness against `required` (the consent partitions' high watermarks). A log
    /// ending before the view's position counts first, whatever the positions say.
    package func staleness(against required: [Int32: Int64]) -> Staleness? {
        let behind = keeper.partitionsReadBeyond(required)
        if !behind.isEmpty { return .logEndsBeforeView(behind) }
        return keeper.hasRead(upTo: required) ? nil : .notCaughtUp
    }

    /// Waits until the view is current; throws `ConsentViewLagging` after `timeout` (an
    /// infrastructure condition: the caller retries, it never decides on a stale view).
    ///
    /// Throws `ConsentLogBehindView` when a partition's log ends before what the view has read:
    /// the view's position then says nothing about the records the log holds now (the topic was
    /// recreated or truncated, or the cluster replaced by one that lost data), and a withdrawal
    /// appended there since would pass unseen: the view counted as caught up at once, and an
    /// outside audit saw a withdrawn person's referral cross after the broker came back empty.
    /// Like lagging, it is retried and the bridge decides nothing meanwhile; it clears once the
    /// log reaches past the view's position again (the consent consumer, whose stored offset is
    /// then out of range, reads such a partition from its start).
    ///
    /// Once current, it confirms that the consent cluster is still the one the view read from
    /// (`KafkaClusterConfirmation`), asking after the view caught up: a view that read on at its
    /// old positions in a replacement cluster's longer log counts as current, having skipped the
    /// log's first records. Throws the refusal then (not retried: the process stops).
    package func waitUntilCurrent() async throws {
        let fetched = ContinuousClock.now
        try await waitUntilViewIsCurrent()
        try await consentCluster(askedAtOrAfter: .now)
        latestPass.record(fetched)
    }

    /// Returns at once if a pass (by anyone using this gate) fetched its watermarks within
    /// `window` of now, so every consent change appended before then is in the view; otherwise
    /// passes the gate itself. The relay's re-check uses it: while the pipelines decide they
    /// pass the gate every batch, and a pass of its own for every page cost ~40 µs per event at
    /// 2,000 events/s (two more round trips per page); at a start, or while the pipelines are
    /// idle or held at the gate, it waits for a pass of its own.
    package func waitUntilCurrent(orPassedWithin window: Duration) async throws {
        if let latest = latestPass.instant, ContinuousClock.now - latest <= window { return }
        try await waitUntilCurrent()
    }

    /// `waitUntilCurrent` without the cluster's confirmation.
    private func waitUntilViewIsCurrent() async throws {
        let required = try await highWatermarks()
        switch staleness(against: required) {
        case nil: return
        case .logEndsBeforeView(let partitions): throw ConsentLogBehindView(partitions: partitions)
        case .notCaughtUp: break
        }
        let keeper = self.keeper
        let caughtUp = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await keeper.waitUntilRead(upTo: required)
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        // A cancelled wait (a shutdown) is not a lagging view: no retry, no warning.
        try Task.checkCancellation()
        guard caughtUp else { throw ConsentViewLagging() }
    }
}

/// A consent partition's log ends before the position the view has read it to.
package struct ConsentLogBehindView: Error, CustomStringConvertible {
    /// The partitions, in order.
    package var partitions: [Int32]
    /// Fixed text and partition numbers, safe to log.
    package var description: String {
        "the consent topic ends before what the consent view has read (partitions "
            + partitions.map(String.init).joined(separator: ",")
            + "): recreated, truncated or another cluster; nothing is decided until it reaches past the view's position"
    }
}

/// The consent view did not catch up with the consent topic in time.
package struct ConsentViewLagging: Error, CustomStringConvertible {
    /// Fixed text, safe to log.
    package var description: String { "the consent view has not caught up with the consent topic" }
}

/// The consent topic's partition count as last asked, and when.
private final class KnownPartitions: Sendable {
    private let state: Mutex<(count: Int32, askedAt: ContinuousClock.Instant?)>

    /// The count read at start; asked again at the first pass.
    init(count: Int32) { state = Mutex((count, nil)) }

    var known: (count: Int32, askedAt: ContinuousClock.Instant?) { state.withLock { $0 } }

    func record(count: Int32, askedAt: ContinuousClock.Instant) {
        state.withLock { state in
            // A slower, older answer does not overwrite a newer one.
            if let previous = state.askedAt, previous > askedAt { return }
            state = (count, askedAt)
        }
    }
}

/// The latest instant a gate pass fetched its watermarks at (the latest wins).
private final class LatestPass: Sendable {
    private let latest = Mutex<ContinuousClock.Instant?>(nil)

    var instant: ContinuousClock.Instant? { latest.withLock { $0 } }

    func record(_ instant: ContinuousClock.Instant) {
        latest.withLock { $0 = max($0 ?? instant, instant) }
    }
}
