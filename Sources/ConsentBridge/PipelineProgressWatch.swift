package import ConsentKafka
package import ConsentStorage
import Synchronization

/// Notices a pipeline that has stopped making progress while records wait in its topic: a
/// consumer that stopped fetching, or an outage that outlasts the retries. Nothing is lost either way (offsets live in the bridge
/// store, so nothing is skipped), but nothing moves either: the process reports itself not
/// ready and not live, so that an orchestrator restarts it, and it resumes from the store.
///
/// Progress is the pipeline's stored offsets moving; "waiting" is a high watermark above them.
package final class PipelineProgressWatch: Sendable {
    /// The side whose pipeline is watched (named in the problem text).
    package let side: BridgeSide
    private let topic: String
    private let group: String
    private let consumer: KafkaConsumer
    private let store: BridgeStore
    private let stallAfter: Duration

    private struct State {
        var offsets: [Int32: Int64] = [:]
        var lastProgress = ContinuousClock.now
        var problem: String?
    }
    private let state = Mutex(State())

    /// Watches `consumer`'s partitions of `topic` against the offsets stored for `group`; a
    /// pipeline waiting without progress for `stallAfter` (default 120 s) is stalled.
    package init(
        side: BridgeSide, topic: String, group: String, consumer: KafkaConsumer, store: BridgeStore,
        stallAfter: Duration = .seconds(120)
    ) {
        self.side = side
        self.topic = topic
        self.group = group
        self.consumer = consumer
        self.store = store
        self.stallAfter = stallAfter
    }

    /// The problem found by the last `check` (`nil`: none).
    package var problem: String? { state.withLock { $0.problem } }

    /// Looks at the offsets and high watermarks now; returns (and keeps) a fixed, content-free
    /// problem text when the pipeline has been waiting without progress for `stallAfter`.
    @discardableResult
    package func check() async -> String? {
        let now = ContinuousClock.now
        let partitions = consumer.currentAssignment.filter { $0.topic == topic }.map(\.partition).sorted()
        // Unreachable broker or store: reported by their own checks; no verdict on progress.
        guard !partitions.isEmpty,
            let highs = try? await consumer.highWatermarks(topic: topic, partitions: partitions),
            let stored = try? await store.offsets(consumerGroup: group)
        else {
            return state.withLock { state in
                if partitions.isEmpty { state.lastProgress = now }
                return state.problem
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
            if !waiting || offsets != state.offsets {
                state.offsets = offsets
                state.lastProgress = now
                state.problem = nil
            } else if now - state.lastProgress >= stallAfter {
                state.problem = "\(side.rawValue) pipeline stalled"
            }
            return state.problem
        }
    }
}
