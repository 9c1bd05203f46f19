internal import CRdKafka
import Foundation
package import Logging
import Synchronization

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all`).
///
/// `send` enqueues records and suspends until the broker has acknowledged each one (or
/// librdkafka gave up on it): the result is the record's delivery report or a typed error.
/// A dedicated thread serves delivery reports, so awaiting one adds no polling delay.
package final class KafkaProducer: Sendable {
    /// librdkafka defaults we rely on; callers may override them in `properties`.
    package static let defaultProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        // Bounded: an unreachable cluster surfaces as an error, never as a hang.
        "message.timeout.ms": "30000",
        "linger.ms": "2",
        "socket.keepalive.enable": "true",
    ]

    private let client: RdKafkaClient
    private let pollThreadStopped = StopFlag()
    private let pollThreadFinished = DispatchSemaphore(value: 0)
    private let blocking: DedicatedThread
    private let isClosed = Atomic<Bool>(false)
    /// `send` calls still handing records to librdkafka; `close` waits for them before flushing.
    private let activeSends = Atomic<Int>(0)
    /// One librdkafka topic handle per topic, created on first use and destroyed in `close`.
    private let topicHandles = Mutex<[String: TopicHandle]>([:])

    /// Creates the producer and starts its delivery-report thread.
    package init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        client = try RdKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties(defaults: Self.defaultProperties),
            logger: logger,
            operation: "create producer",
            configure: { conf in rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback) }
        )
        blocking = DedicatedThread(name: KafkaThreadNames.blocking)
        let thread = Thread { [client, pollThreadStopped, pollThreadFinished] in
            // Named from inside (see `KafkaConsumer.start`).
            consent_name_current_thread(KafkaThreadNames.delivery)
            while !pollThreadStopped.isSet {
                rd_kafka_poll(client.handle, 100)
            }
            pollThreadFinished.signal()
        }
        thread.start()
    }

    /// Sends one record and returns where it was stored.
    package func send(_ record: KafkaOutgoingRecord) async throws(KafkaError) -> KafkaDeliveryReport {
        let results = try await send([record])
        return try results[0].get()
    }

    /// Sends records in order and returns one result per record, in the same order.
    ///
    /// Enqueueing fails as a whole only when the producer is closed or has a fatal error;
    /// per-record failures (e.g. a message timeout) are in the results.
    package func send(_ records: [KafkaOutgoingRecord]) async throws(KafkaError) -> [Result<
        KafkaDeliveryReport, KafkaError
    >] {
        try await enqueue(records).results()
    }

    /// Hands records to librdkafka in order and returns at once (suspending only while
    /// librdkafka's queue is full); the delivery reports arrive in the returned value.
    ///
    /// Records of successive calls from one task keep their order per partition, so a caller
    /// can enqueue the next records while the previous ones are still in flight.
    package func enqueue(_ records: [KafkaOutgoingRecord]) async throws(KafkaError) -> KafkaPendingDelivery {
        // Sequentially consistent, paired with `close`: either this call sees the producer
        // closed, or `close` sees this call active and waits for it.
        activeSends.add(1, ordering: .sequentiallyConsistent)
        defer { activeSends.subtract(1, ordering: .acquiringAndReleasing) }
        guard !isClosed.load(ordering: .sequentiallyConsistent) else {
            throw KafkaError(code: .clientClosed, operation: "produce")
        }
        if let fatal = client.currentFatalError(operation: "produce") { throw fatal }
        let batch = DeliveryBatch(topics: records.map(\.topic))
        var topicName: String? = nil
        var topic: OpaquePointer? = nil
        for (index, record) in records.enumerated() {
            if record.topic != topicName {
                topicName = record.topic
                topic = topicHandle(record.topic)
            }
            while true {
                guard let error = enqueue(record, topic: topic, opaque: batch.opaque(index)) else { break }
                if error.code == .queueFull {
                    // Back-pressure: wait for delivery reports to free queue space, unless the
                    // producer is closing (`close` waits for this call, and the queue may never
                    // drain: its cluster unreachable). Then this record and the rest fail at once.
                    if isClosed.load(ordering: .sequentiallyConsistent) {
                        let closed = KafkaError(code: .clientClosed, operation: "produce")
                        for rest in index..<records.count { batch.complete(index: rest, with: .failure(closed)) }
                        return KafkaPendingDelivery(batch: batch)
                    }
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                batch.complete(index: index, with: .failure(error))
                break
            }
        }
        return KafkaPendingDelivery(batch: batch)
    }

    /// The topic handle for `name` (`nil` if librdkafka rejects the name: the record then
    /// fails in `produceva` with librdkafka's error).
    ///
    /// Producing through a handle created with `rd_kafka_topic_new` matters for more than the
    /// per-record name lookup it saves: librdkafka 2.0.2 requests a new topic's metadata at once
    /// only when the topic is created that way. A topic first named in `produceva` waits for
    /// the 1-second topic scan, which held every first record of a fresh producer ~1 s.
    private func topicHandle(_ name: String) -> OpaquePointer? {
        topicHandles.withLock { handles -> OpaquePointer? in
            if let existing = handles[name] { return existing.pointer }
            guard !isClosed.load(ordering: .acquiring), let created = TopicHandle(client: client, topic: name) else {
                return nil
            }
            handles[name] = created
            return created.pointer
        }
    }

    /// Waits until every enqueued record has a delivery report, at most `timeout`.
    package func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let milliseconds = timeout.librdkafkaMilliseconds
        let client = self.client
        let code = try await blocking.run("flush") { rd_kafka_flush(client.handle, milliseconds).rawValue }
        let err = rd_kafka_resp_err_t(rawValue: code)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "flush") }
    }

    /// Flushes queued records (at most `timeout`), then releases the client. Idempotent.
    ///
    /// Records still undelivered when the timeout passes are purged (queued and in flight): each
    /// gets a failed delivery report (`_PURGE_QUEUE`, `_PURGE_INFLIGHT`: the latter may have
    /// been stored), so no caller waits forever and none is told a record was stored when it
    /// was not. With `timeout` zero nothing is waited for: closing takes at most about a
    /// second for the purge's reports, plus destroying the client (bounded, see
    /// `RdKafkaClient.destroy`). An `enqueue` waiting for queue space gives up.
    package func close(timeout: Duration = .seconds(30)) async {
        guard !isClosed.exchange(true, ordering: .sequentiallyConsistent) else { return }
        // Sends that passed the closed check finish enqueueing first, so the flush covers them
        // (and no record is enqueued after the topic handles and the client are destroyed).
        while activeSends.load(ordering: .sequentiallyConsistent) > 0 {
            try? await Task.sleep(for: .milliseconds(1))
        }
        do {
            try await flush(timeout: timeout)
        } catch {
            client.logger.warning(
                "Kafka producer closed with undelivered records", metadata: ["kafka.error": "\(error)"])
            let client = self.client
            _ = try? await blocking.run("purge") {
                rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)).rawValue
            }
            _ = try? await blocking.run("flush") { rd_kafka_flush(client.handle, 1000).rawValue }
        }
        pollThreadStopped.set()
        let finished = pollThreadFinished
        _ = try? await blocking.run("close") { finished.wait() }
        await blocking.stop()
        let client = self.client
        let handles = topicHandles.withLock { handles in
            defer { handles.removeAll() }
            return Array(handles.values)
        }
        await DedicatedThread.runOnce(name: KafkaThreadNames.destroy) {
            for handle in handles { handle.destroy() }
            client.destroy()
        }
    }

    /// The underlying handle, for the embedded cluster's and tests' fault injection.
    var rdKafkaClient: RdKafkaClient { client }

    /// Hands one record to librdkafka (copying key, value and headers).
    private func enqueue(_ record: KafkaOutgoingRecord, topic handle: OpaquePointer?, opaque: UnsafeMutableRawPointer)
        -> KafkaError?
    {
        var headers: OpaquePointer? = nil
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                // The name by pointer and length: passed as a C string, a name of up to 15
                // bytes (most of them; Swift keeps those inline) was copied into a new heap
                // array per header.
                var name = header.name
                name.withUTF8 { name in
                    // librdkafka copies the name; an empty one still needs a pointer.
                    let nameBytes = UnsafeRawPointer(name.baseAddress ?? emptyName.utf8Start)
                        .assumingMemoryBound(to: CChar.self)
                    if let value = header.value {
                        value.withUnsafeBytes { bytes in
                            _ = rd_kafka_header_add(headers, nameBytes, name.count, bytes.baseAddress, bytes.count)
                        }
                    } else {
                        _ = rd_kafka_header_add(headers, nameBytes, name.count, nil, 0)
                    }
                }
            }
        }
        let error: OpaquePointer? = withOptionalBytes(record.key) { key in
            withOptionalBytes(record.value) { value in
                // Stack-allocated argument list: no heap allocation per record.
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                    fields.initialize(repeating: rd_kafka_vu_t())
                    fields[1].vtype = RD_KAFKA_VTYPE_PARTITION
                    fields[1].u.i32 = record.partition ?? RD_KAFKA_PARTITION_UA
                    fields[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[2].u.i = RD_KAFKA_MSG_F_COPY
                    fields[3].vtype = RD_KAFKA_VTYPE_KEY
                    fields[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                    fields[3].u.mem.size = key.count
                    fields[4].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    fields[4].u.mem.size = value.count
                    fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[5].u.ptr = opaque
                    var count = 6
                    if let headers {
                        fields[6].vtype = RD_KAFKA_VTYPE_HEADERS
                        fields[6].u.headers = headers
                        count = 7
                    }
                    if let handle {
                        fields[0].vtype = RD_KAFKA_VTYPE_RKT
                        fields[0].u.rkt = handle
                        return rd_kafka_produceva(client.handle, fields.baseAddress, count)
                    }
                    return record.topic.withCString { topic in
                        fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        fields[0].u.cstr = topic
                        return rd_kafka_produceva(client.handle, fields.baseAddress, count)
                    }
                }
            }
        }
        guard let error else { return nil }
        // On failure the headers are still ours.
        if let headers { rd_kafka_headers_destroy(headers) }
        return KafkaError.consuming(error, operation: "produce")
    }
}

/// Calls `body` with the bytes, or with an empty buffer whose base address is nil for `nil`
/// (librdkafka reads a NULL key/value as "no key"/tombstone).
private func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let bytes { return bytes.withUnsafeBytes(body) }
    return body(UnsafeRawBufferPointer(start: nil, count: 0))
}

/// Records handed to librdkafka by one `enqueue` call, whose delivery reports are still
/// coming in. Dropping it does not cancel anything: the records are delivered regardless.
package struct KafkaPendingDelivery: Sendable {
    fileprivate let batch: DeliveryBatch

    /// One result per record, in enqueue order, once every record has its delivery report.
    package func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await batch.results()
    }
}

/// Collects the delivery reports of one `enqueue` call.
///
/// Each record's librdkafka opaque points into one buffer of slots allocated per call (not one
/// object per record). The batch keeps itself alive until its last record is completed (by a
/// delivery report or an enqueue failure), whoever else still holds it.
private final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
    }

    private let state: Mutex<State>
    /// Each record's topic, so delivery reports need no C-string conversion per record.
    let topics: [String]
    /// One slot per record; written once in `init`, then only read (by delivery reports).
    private nonisolated(unsafe) let slots: UnsafeMutablePointer<DeliverySlot>

    init(topics: [String]) {
        self.topics = topics
        state = Mutex(State(results: Array(repeating: nil, count: topics.count), remaining: topics.count, waiter: nil))
        slots = .allocate(capacity: topics.count)
        let unmanaged = Unmanaged.passUnretained(self)
        for index in topics.indices {
            (slots + index).initialize(to: DeliverySlot(batch: unmanaged, index: index))
        }
        // Released by the completion of the last record (never, for an empty batch).
        if !topics.isEmpty { _ = unmanaged.retain() }
    }

    deinit {
        slots.deinitialize(count: topics.count)
        slots.deallocate()
    }

    /// The librdkafka opaque of record `index`.
    func opaque(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    func complete(index: Int, with result: Result<KafkaDeliveryReport, KafkaError>) {
        typealias Waiter = CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>
        let (isLast, resume) = state.withLock { state -> (Bool, (Waiter, [Result<KafkaDeliveryReport, KafkaError>])?) in
            guard state.results[index] == nil else { return (false, nil) }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0 else { return (false, nil) }
            guard let waiter = state.waiter else { return (true, nil) }
            state.waiter = nil
            return (true, (waiter, state.results.map { $0! }))
        }
        if let (waiter, results) = resume { waiter.resume(returning: results) }
        // The last record: drop the batch's hold on itself (whoever calls `complete` holds
        // a reference until it returns).
        if isLast { Unmanaged.passUnretained(self).release() }
    }

    func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Result<KafkaDeliveryReport, KafkaError>]? in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// The per-record opaque handed to librdkafka: which batch and which position.
private struct DeliverySlot {
    let batch: Unmanaged<DeliveryBatch>
    let index: Int
}

/// Runs on the producer's poll thread for every record librdkafka is done with.
private let deliveryReportCallback:
    @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
        rk, message, _ in
        guard let message, let opaque = message.pointee._private else { return }
        let slot = opaque.assumingMemoryBound(to: DeliverySlot.self).pointee
        // A strong reference for the duration of `complete` (the batch is alive: see DeliveryBatch).
        let batch = slot.batch.takeUnretainedValue()
        let record = message.pointee
        if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            let report = KafkaDeliveryReport(
                topic: batch.topics[slot.index], partition: record.partition, offset: record.offset)
            batch.complete(index: slot.index, with: .success(report))
        } else {
            var error = KafkaError.from(record.err, operation: "produce")
            // A record failing because the client hit a fatal error (e.g. idempotence broken) is
            // reported as fatal: retrying on this client cannot succeed.
            if let rk, rd_kafka_fatal_error(rk, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                error.isFatal = true
                error.isRetriable = false
            }
            batch.complete(index: slot.index, with: .failure(error))
        }
    }

/// Where an empty header name points (librdkafka reads no byte of it).
private let emptyName: StaticString = ""
