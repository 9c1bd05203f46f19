internal import CRdKafka
import Foundation
package import Logging
import Synchronization

/// A Kafka consumer in a consumer group whose offsets are owned by the caller.
///
/// Records arrive in batches through `batches`, read by a dedicated poll thread (blocking
/// librdkafka calls never run on Swift's cooperative pool) and handed across in batches,
/// which is what makes consuming through an async sequence fast. On every assignment the
/// caller's `startingOffsets` decides where each partition starts; nothing is committed to
/// Kafka.
///
/// Lifecycle: `init` makes the client only; `start()` joins the group and starts polling, and
/// `close()` leaves it. A service that owns a consumer starts it in its `run()` and closes it
/// when it ends, so a consumer made while the application is composed joins nothing until its
/// service group runs (and one made by a composition that then fails only needs `close()`).
package final class KafkaConsumer: Sendable {
    private enum State {
        case made, started, closed
    }

    private let client: RdKafkaClient
    private let channel: RecordBatchChannel
    private let blocking: DedicatedThread
    private let stopFlag = StopFlag()
    private let pollThreadFinished = DispatchSemaphore(value: 0)
    private let assignmentContinuation: AsyncStream<KafkaAssignmentChange>.Continuation
    private let assignment = LockedBox<Set<KafkaTopicPartition>>([])
    private let joined = LockedBox<Bool>(false)
    private let state = LockedBox<State>(.made)
    private let topics: [String]
    private let maxBatchSize: Int
    /// `KafkaConsumerConfiguration.batchLingerMilliseconds`.
    private let batchLinger: Int32

    /// Record batches in partition order, once started. Finishes after `close()`; throws if the
    /// consumer hit a fatal error or the caller's `startingOffsets` failed, and at once
    /// (`consumerNotStarted`) when read before `start()`.
    package let batches: KafkaRecordBatches
    /// Assignment changes, in the order they happened.
    package let assignmentChanges: AsyncStream<KafkaAssignmentChange>

    /// Creates the consumer for `configuration.topics`; `start()` subscribes and starts polling.
    package init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        var properties = configuration.client.librdkafkaProperties(
            defaults: KafkaConsumerConfiguration.defaultProperties)
        properties["group.id"] = configuration.groupID
        client = try RdKafkaClient(
            type: RD_KAFKA_CONSUMER,
            properties: properties,
            logger: logger,
            operation: "create consumer",
            configure: { conf in rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }
        )
        channel = RecordBatchChannel(capacity: max(1, configuration.maxBufferedBatches))
        batches = KafkaRecordBatches(channel: channel)
        blocking = DedicatedThread(name: KafkaThreadNames.blocking)
        (assignmentChanges, assignmentContinuation) = AsyncStream.makeStream(of: KafkaAssignmentChange.self)

        rd_kafka_poll_set_consumer(client.handle)
        let handler = RebalanceHandler(
            startingOffsets: configuration.startingOffsets,
            logger: logger,
            onChange: { [assignmentContinuation, assignment, joined] change in
                assignment.withLock { current in
                    switch change {
                    case .assigned(let offsets):
                        current.formUnion(offsets.keys)
                        joined.withLock { $0 = true }
                    case .revoked(let partitions): current.subtract(partitions)
                    }
                }
                assignmentContinuation.yield(change)
            },
            onFailure: { [channel] error in channel.finish(throwing: error) }
        )
        client.context.rebalance.withLock { $0 = handler.handle }

        topics = configuration.topics
        maxBatchSize = max(1, configuration.maxBatchSize)
        batchLinger = Int32(clamping: max(0, configuration.batchLingerMilliseconds))
    }

    /// Subscribes to the topics and starts the poll thread: the consumer joins its group.
    /// Later calls do nothing; after `close()` it throws.
    package func start() throws(KafkaError) {
        let result: Result<Void, KafkaError> = state.withLock { state in
            switch state {
            case .started: return .success(())
            case .closed: return .failure(KafkaError(code: .clientClosed, operation: "start consumer"))
            case .made: break
            }
            // No `rd_kafka_topic_new` handles here (unlike the producer): holding them in a
            // consumer saved a one-off 500 ms at assignment, but in 1 of 5–10 bench runs a consumer
            // then stopped fetching for good mid-stream (docs/kafka.md).
            let subscription = TopicPartitionList(topics: topics)
            let subscribeError = rd_kafka_subscribe(client.handle, subscription.pointer)
            guard subscribeError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                return .failure(KafkaError.from(subscribeError, operation: "subscribe"))
            }
            let (maxBatchSize, batchLinger) = (self.maxBatchSize, self.batchLinger)
            channel.markFed()
            let thread = Thread { [client, channel, stopFlag, pollThreadFinished] in
                // Named from inside (see ConsentStorage's `ExecutorThread`): what `top -H`, perf and `/proc` show.
                consent_name_current_thread(KafkaThreadNames.consume)
                Self.pollLoop(
                    client: client, channel: channel, stopFlag: stopFlag, maxBatchSize: maxBatchSize,
                    batchLinger: batchLinger)
                // Leave the group (serves the final revocation) from the thread that polled.
                rd_kafka_consumer_close(client.handle)
                channel.finish(throwing: nil)
                pollThreadFinished.signal()
            }
            thread.start()
            state = .started
            return .success(())
        }
        try result.get()
    }

    /// Whether the consumer has had an assignment from its group (possibly of no partitions,
    /// when the group has more members than partitions): it is consuming what it should.
    package var hasJoinedGroup: Bool { joined.withLock { $0 } }

    /// The partitions currently assigned to this consumer.
    package var currentAssignment: Set<KafkaTopicPartition> { assignment.withLock { $0 } }

    /// Stops fetching from `partitions` until `resume`; buffered records are still delivered.
    package func pause(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        // Once closed the handle is destroyed (or about to be): never touch it.
        guard state.withLock({ $0 }) != .closed else { throw KafkaError(code: .clientClosed, operation: "pause") }
        let list = TopicPartitionList(partitions: partitions)
        let err = rd_kafka_pause_partitions(client.handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "pause") }
    }

    /// Resumes fetching from paused `partitions`.
    package func resume(_ partitions: [KafkaTopicPartition]) throws(KafkaError) {
        guard state.withLock({ $0 }) != .closed else { throw KafkaError(code: .clientClosed, operation: "resume") }
        let list = TopicPartitionList(partitions: partitions)
        let err = rd_kafka_resume_partitions(client.handle, list.pointer)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "resume") }
    }

    /// Asks the partition leader for the current high watermark (offset of the next record).
    package func highWatermark(topic: String, partition: Int32, timeout: Duration = .seconds(5))
        async throws(KafkaError) -> Int64
    {
        try await queryWatermarks(client: client, on: blocking, topic: topic, partition: partition, timeout: timeout)
            .high
    }

    /// High watermarks of several partitions of `topic` in one request per leader broker
    /// (ListOffsets for the latest offset), instead of one round trip per partition.
    package func highWatermarks(topic: String, partitions: [Int32], timeout: Duration = .seconds(5))
        async throws(KafkaError) -> [Int32: Int64]
    {
        try await queryHighWatermarks(
            client: client, on: blocking, topic: topic, partitions: partitions, timeout: timeout)
    }

    /// Leaves the group and stops the poll thread (if started); `batches` then finishes.
    /// Idempotent.
    package func close() async {
        let previous = state.withLock { state in
            let previous = state
            state = .closed
            return previous
        }
        let client = self.client
        switch previous {
        case .closed:
            return
        case .made:
            // Never subscribed: nothing to leave.
            channel.finish(throwing: nil)
            assignmentContinuation.finish()
            await blocking.stop()
            await DedicatedThread.runOnce(name: KafkaThreadNames.destroy) {
                client.destroy(flags: RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
            }
        case .started:
            stopFlag.set()
            let finished = pollThreadFinished
            _ = try? await blocking.run("close") { finished.wait() }
            assignmentContinuation.finish()
            await blocking.stop()
            await DedicatedThread.runOnce(name: KafkaThreadNames.destroy) { client.destroy() }
        }
    }

    /// Reads batches until stopped, handing each to the channel (waiting while it is full).
    private static func pollLoop(
        client: RdKafkaClient, channel: RecordBatchChannel, stopFlag: StopFlag, maxBatchSize: Int, batchLinger: Int32
    ) {
        guard let queue = rd_kafka_queue_get_consumer(client.handle) else { return }
        defer { rd_kafka_queue_destroy(queue) }
        var messages = [UnsafeMutablePointer<rd_kafka_message_t>?](repeating: nil, count: maxBatchSize)
        var topicNames = TopicNameCache()
        while !stopFlag.isSet {
            let count = Self.nextBatch(queue, into: &messages, linger: batchLinger)
            guard count > 0 else {
                if let fatal = client.currentFatalError(operation: "consume") {
                    channel.finish(throwing: fatal)
                    return
                }
                continue
            }
            var records: [KafkaRecord] = []
            records.reserveCapacity(count)
            for index in 0..<count {
                guard let message = messages[index] else { continue }
                defer { rd_kafka_message_destroy(message) }
                if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    let error = KafkaError.from(message.pointee.err, operation: "consume")
                    client.logger.warning("Kafka consume error", metadata: ["kafka.error": "\(error)"])
                    continue
                }
                records.append(Self.record(from: message, topic: topicNames.name(of: message.pointee.rkt)))
            }
            if !records.isEmpty, !channel.send(records, stopFlag: stopFlag) { return }
        }
    }

    /// Fills `messages` with what is available now, or waits (at most 100 ms) for the first
    /// record; then takes whatever else is there, waiting up to `linger` ms more for the batch
    /// to fill.
    ///
    /// `rd_kafka_consume_batch_queue` with a timeout waits until the batch is *full* or the
    /// timeout passes, which adds up to the whole timeout to the first record's latency: hence
    /// the wait for the first record alone, and a linger only when asked for.
    private static func nextBatch(
        _ queue: OpaquePointer, into messages: inout [UnsafeMutablePointer<rd_kafka_message_t>?], linger: Int32
    ) -> Int {
        messages.withUnsafeMutableBufferPointer { buffer -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            let available = rd_kafka_consume_batch_queue(queue, 0, base, buffer.count)
            if available != 0 && (linger == 0 || available < 0 || available == buffer.count) { return available }
            var count = max(available, 0)
            if count == 0 {
                guard let first = rd_kafka_consume_queue(queue, 100) else { return 0 }
                base[0] = first
                count = 1
            }
            guard count < buffer.count else { return count }
            let more = rd_kafka_consume_batch_queue(queue, linger, base + count, buffer.count - count)
            return count + max(more, 0)
        }
    }

    /// Copies a librdkafka message into a Swift record.
    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> KafkaRecord {
        let raw = message.pointee
        var headers: [KafkaHeader] = []
        var headerList: OpaquePointer? = nil
        if rd_kafka_message_headers(message, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            // Sized once: grown by appending, a record's dozen headers took five allocations.
            headers.reserveCapacity(rd_kafka_header_cnt(headerList))
            var index = 0
            var name: UnsafePointer<CChar>? = nil
            var valuePointer: UnsafeRawPointer? = nil
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &valuePointer, &size) == RD_KAFKA_RESP_ERR_NO_ERROR
            {
                headers.append(
                    KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: copyBytes(valuePointer, size)))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let milliseconds = rd_kafka_message_timestamp(message, &timestampType)
        return KafkaRecord(
            topic: topic, partition: raw.partition, offset: raw.offset,
            key: copyBytes(raw.key, raw.key_len), value: copyBytes(raw.payload, raw.len), headers: headers,
            timestamp: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                ? nil : Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        )
    }
}

/// Topic names by librdkafka topic handle, converted from C once per topic. Consecutive
/// records almost always share a topic, so the last one is checked before the dictionary.
private struct TopicNameCache {
    private var lastHandle: OpaquePointer? = nil
    private var lastName = ""
    private var names: [OpaquePointer: String] = [:]

    mutating func name(of handle: OpaquePointer?) -> String {
        guard let handle else { return "" }
        if handle == lastHandle { return lastName }
        let name: String
        if let cached = names[handle] {
            name = cached
        } else {
            name = String(cString: rd_kafka_topic_name(handle))
            names[handle] = name
        }
        lastHandle = handle
        lastName = name
        return name
    }
}

/// A copy of `count` bytes at `pointer`; `nil` stays `nil` (no key, a tombstone, a header without a value).
private func copyBytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8]? {
    guard let pointer else { return nil }
    // From a buffer rather than `init(unsafeUninitializedCapacity:)`: that one calls the standard
    // library's unspecialized buffer initializer, which looks up the array's generic metadata
    // on every call (a dozen times per record; 55 against 30 ns for a 30-byte copy).
    return Array(UnsafeRawBufferPointer(start: pointer, count: count))
}

/// High watermarks of `partitions` of `topic` on `thread` (ListOffsets for the latest offset,
/// one request per leader broker instead of one round trip per partition).
func queryHighWatermarks(
    client: RdKafkaClient, on thread: DedicatedThread, topic: String, partitions: [Int32], timeout: Duration
) async throws(KafkaError) -> [Int32: Int64] {
    if partitions.isEmpty { return [:] }
    let milliseconds = timeout.librdkafkaMilliseconds
    let result = try await thread.run("query watermarks") { () -> Result<[Int32: Int64], KafkaError> in
        let first = offsetsAtEnd(client: client, topic: topic, partitions: partitions, milliseconds: milliseconds)
        guard case .failure(let error) = first, leaderlessCodes.contains(error.code.rawValue) else { return first }
        // `offsets_for_times` finds leaders in the client's metadata cache, and a partition the
        // client first met without a leader stayed unknown there after it had one again: every
        // query failed with an unknown partition for more than a minute (librdkafka 2.0.2, the
        // mock; the class of librdkafka #1641 and #3295), and the consent gate held every
        // decision and the relay meanwhile. A metadata request refreshes the cache; then the
        // query is asked once more.
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        _ = rd_kafka_metadata(client.handle, 1, nil, &metadata, milliseconds)
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return offsetsAtEnd(client: client, topic: topic, partitions: partitions, milliseconds: milliseconds)
    }
    return try result.get()
}

/// Errors of a query whose partition had no leader when the client last looked.
private let leaderlessCodes: Set<Int32> = [
    Int32(RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION.rawValue), Int32(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE.rawValue),
    Int32(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue),
]

/// One `offsets_for_times` query for the ends of `partitions` (blocks on a broker round trip).
private func offsetsAtEnd(client: RdKafkaClient, topic: String, partitions: [Int32], milliseconds: Int32)
    -> Result<[Int32: Int64], KafkaError>
{
    let list = TopicPartitionList(partitions: partitions.map { KafkaTopicPartition(topic: topic, partition: $0) })
    // As a timestamp, RD_KAFKA_OFFSET_END (-1) asks for the latest offset.
    for index in 0..<Int(list.pointer.pointee.cnt) {
        list.pointer.pointee.elems[index].offset = Int64(RD_KAFKA_OFFSET_END)
    }
    let err = rd_kafka_offsets_for_times(client.handle, list.pointer, milliseconds)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        return .failure(KafkaError.from(err, operation: "query watermarks"))
    }
    var highs: [Int32: Int64] = [:]
    for index in 0..<Int(list.pointer.pointee.cnt) {
        let element = list.pointer.pointee.elems[index]
        guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.offset >= 0 else {
            return .failure(
                KafkaError.from(
                    element.err == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__BAD_MSG : element.err,
                    operation: "query watermarks"))
        }
        highs[element.partition] = element.offset
    }
    return .success(highs)
}

/// Queries low and high watermarks on `thread` (the call blocks on a broker round trip).
func queryWatermarks(
    client: RdKafkaClient, on thread: DedicatedThread, topic: String, partition: Int32, timeout: Duration
) async throws(KafkaError) -> (low: Int64, high: Int64) {
    let milliseconds = timeout.librdkafkaMilliseconds
    let result = try await thread.run("query watermarks") { () -> (Int32, Int64, Int64) in
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(client.handle, topic, partition, &low, &high, milliseconds)
        return (Int32(err.rawValue), low, high)
    }
    let err = rd_kafka_resp_err_t(rawValue: result.0)
    guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "query watermarks") }
    return (result.1, result.2)
}
