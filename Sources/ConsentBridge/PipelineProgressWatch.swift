package import ConsentKafka
package import ConsentStorage
import Synchronization

/// Notices a pipeline or sink that has stopped making progress while records wait in its
/// topic: a consumer that stopped fetching, or an outage that outlasts the retries. Nothing is
/// lost either way (offsets live in the store, so nothing is skipped), but nothing moves
/// either: the process reports itself not ready and not live, so that an orchestrator restarts
/// it, and it resumes from the store.
///
/// Progress is the stored offsets moving; "waiting" is a high watermark above them. A store
/// that fails or does not answer makes the process not ready at once, and not live once that
/// has lasted `stallAfter`. The bridge's pipelines and the sinks are watched alike.
package final class PipelineProgressWatch: Sendable {
    /// Where a watch reads what it compares.
    package struct Sources: Sendable {
        /// The topic's partitions to judge now (empty: none, or the broker cannot say).
        package var partitions: @Sendable () async -> [Int32]
        /// The partitions' high watermarks (throws when the broker cannot be reached).
        package var highWatermarks: @Sendable ([Int32]) async throws -> [Int32: Int64]
        /// The offsets stored for the watched consumer group, all topics.
        package var storedOffsets: @Sendable () async throws -> [ConsumerOffset]

        /// Sources from the given closures.
        package init(
            partitions: @escaping @Sendable () async -> [Int32],
            highWatermarks: @escaping @Sendable ([Int32]) async throws -> [Int32: Int64],
            storedOffsets: @escaping @Sendable () async throws -> [ConsumerOffset]
        ) {
            self.partitions = partitions
            self.highWatermarks = highWatermarks
            self.storedOffsets = storedOffsets
        }
    }

    /// What is watched, as named in the problem text (e.g. `health pipeline`, `NAV sink`).
    package let name: String
    /// The store it records to, as named in the problem text (e.g. `bridge store`).
    private let storeName: String
    private let topic: String
    private let sources: Sources
    private let stallAfter: Duration

    private struct State {
        var offsets: [Int32: Int64] = [:]
        var lastProgress = ContinuousClock.now
        var problem: String?
    }
    private let state = Mutex(State())
    /// Whether a read of the stored offsets is still unanswered: a store whose connection died
    /// may never answer, and each check would otherwise leave one more read waiting.
    private let storeReadInFlight = Atomic<Bool>(false)
    /// How long a check waits for the store's answer.
    static let storeAnswerTimeout: Duration = .seconds(5)

    /// Watches `topic` through `sources`; waiting without progress for `stallAfter` (default
    /// 120 s) is a stall.
    package init(
        name: String, storeName: String, topic: String, sources: Sources, stallAfter: Duration = .seconds(120)
    ) {
        self.name = name
        self.storeName = storeName
        self.topic = topic
        self.sources = sources
        self.stallAfter = stallAfter
    }

    /// Watches a bridge pipeline: `consumer`'s partitions of `topic` against the offsets the
    /// bridge store holds for `group`.
    package convenience init(
        side: BridgeSide, topic: String, group: String, consumer: KafkaConsumer, store: BridgeStore,
        stallAfter: Duration = .seconds(120)
    ) {
        self.init(
            name: "\(side.rawValue) pipeline", storeName: "bridge store", topic: topic,
            sources: Sources(
                partitions: {
                    consumer.currentAssignment.filter { $0.topic == topic }.map(\.partition).sorted()
                },
                highWatermarks: { try await consumer.highWatermarks(topic: topic, partitions: $0) },
                storedOffsets: { try await store.offsets(consumerGroup: group) }),
            stallAfter: stallAfter)
    }

    /// The problem found by the last `check` (`nil`: none).
    package var problem: String? { state.withLock { $0.problem } }

    /// Looks at the offsets and high watermarks now; returns (and keeps) a fixed, content-free
    /// problem text when the pipeline has been waiting without progress for `stallAfter`.
    @discardableResult
    package func check() async -> String? {
        let now = ContinuousClock.now
        let partitions = await sources.partitions()
        // An unreachable broker is reported by its own check (the clients reconnect by
        // themselves); no verdict on progress.
        guard !partitions.isEmpty, let highs = try? await sources.highWatermarks(partitions) else {
            return state.withLock { state in
                if partitions.isEmpty { state.lastProgress = now }
                return state.problem
            }
        }
        // A store that fails or does not answer is no progress: not ready at once, and not live
        // once it has lasted `stallAfter`. (An outside audit terminated the bridge's PostgreSQL
        // connection: the pipelines stopped for good while both health endpoints kept answering
        // 200, since the watch gave no verdict without the stored offsets.)
        let notAnswering = "\(storeName) not answering"
        guard let stored = await storedOffsets() else {
            return state.withLock { state in
                if now - state.lastProgress >= stallAfter {
                    state.problem = "\(name) stalled: \(notAnswering)"
                }
                return state.problem ?? notAnswering
            }
        }
        var offsets: [Int32: Int64] = [:]
        for offset in stored where offset.topic == topic { offsets[offset.partition] = offset.nextOffset }
        // A partition without a stored offset is not judged: retention may have emptied it,
        // leaving a high watermark above zero and nothing to consume.
        let waiting = partitions.contains { partition in
            guard let next = offsets[partition], let high = highs[partition] else { return false }
            return high > next
        }
        return state.withLock { state in
            if !waiting || offsets != state.offsets || state.problem?.hasSuffix(notAnswering) == true {
                state.offsets = offsets
                state.lastProgress = now
                state.problem = nil
            } else if now - state.lastProgress >= stallAfter {
                state.problem = "\(name) stalled"
            }
            return state.problem
        }
    }

    /// The offsets stored for the group, or nil when the store fails or has not answered within
    /// `storeAnswerTimeout` (or an earlier read is still unanswered).
    private func storedOffsets() async -> [ConsumerOffset]? {
        guard !storeReadInFlight.exchange(true, ordering: .acquiringAndReleasing) else { return nil }
        return await withCheckedContinuation { (continuation: CheckedContinuation<[ConsumerOffset]?, Never>) in
            let answer = FirstAnswer<[ConsumerOffset]?>()
            answer.await(continuation)
            // Unstructured on purpose: a read on a dead connection may never return, and a task
            // group would wait for it.
            Task {
                let offsets = try? await self.sources.storedOffsets()
                self.storeReadInFlight.store(false, ordering: .releasing)
                answer.resolve(offsets)
            }
            Task {
                try? await Task.sleep(for: Self.storeAnswerTimeout)
                answer.resolve(nil)
            }
        }
    }
}
