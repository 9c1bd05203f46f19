import Foundation
import Logging
import Synchronization
internal import CRdKafka

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

    /// Creates the producer and starts its delivery-report thread.
    package init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        client = try RdKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties(defaults: Self.defaultProperties),
            logger: logger,
            operation: "create producer",
            configure: { conf in rd_kafka_conf_set_dr_msg_cb(conf, deliveryReportCallback) }
        )
        blocking = DedicatedThread(name: "kafka-producer-blocking")
        let thread = Thread { [client, pollThreadStopped, pollThreadFinished] in
            while !pollThreadStopped.isSet {
                rd_kafka_poll(client.handle, 100)
            }
            pollThreadFinished.signal()
        }
        thread.name = "kafka-producer-poll"
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
    package func send(_ records: [KafkaOutgoingRecord]) async throws(KafkaError) -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard !isClosed.load(ordering: .acquiring) else {
            throw KafkaError(code: .clientClosed, operation: "produce")
        }
        if let fatal = client.currentFatalError(operation: "produce") { throw fatal }
        if records.isEmpty { return [] }
        let batch = DeliveryBatch(topics: records.map(\.topic))
        for (index, record) in records.enumerated() {
            while true {
                let slot = Unmanaged.passRetained(DeliverySlot(batch: batch, index: index))
                let error = enqueue(record, opaque: slot.toOpaque())
                guard let error else { break }
                slot.release()
                if error.code == .queueFull {
                    // Back-pressure: wait for delivery reports to free queue space.
                    try? await Task.sleep(for: .milliseconds(1))
                    continue
                }
                batch.complete(index: index, with: .failure(error))
                break
            }
        }
        return await batch.results()
    }

    /// Waits until every enqueued record has a delivery report, at most `timeout`.
    package func flush(timeout: Duration = .seconds(30)) async throws(KafkaError) {
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let client = self.client
        let code = await blocking.run { rd_kafka_flush(client.handle, milliseconds).rawValue }
        let err = rd_kafka_resp_err_t(rawValue: code)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "flush") }
    }

    /// Flushes queued records (at most `timeout`), then releases the client. Idempotent.
    ///
    /// Records still undelivered when the timeout passes get a failed delivery report, so no
    /// caller waits forever and none is told a record was stored when it was not.
    package func close(timeout: Duration = .seconds(30)) async {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            try await flush(timeout: timeout)
        } catch {
            client.logger.warning("Kafka producer closed with undelivered records", metadata: ["kafka.error": "\(error)"])
            let client = self.client
            _ = await blocking.run { rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)).rawValue }
            _ = await blocking.run { rd_kafka_flush(client.handle, 1000).rawValue }
        }
        pollThreadStopped.set()
        let finished = pollThreadFinished
        await blocking.run { finished.wait() }
        blocking.stop()
        let client = self.client
        await DedicatedThread(name: "kafka-producer-destroy").run { client.destroy() }
    }

    /// The number of records waiting in librdkafka's queues (enqueued, not yet acknowledged).
    package var outstandingCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// The underlying handle, for the embedded cluster's and tests' fault injection.
    var rdKafkaClient: RdKafkaClient { client }

    /// Hands one record to librdkafka (copying key, value and headers).
    private func enqueue(_ record: KafkaOutgoingRecord, opaque: UnsafeMutableRawPointer) -> KafkaError? {
        var headers: OpaquePointer? = nil
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                if let value = header.value {
                    value.withUnsafeBytes { bytes in
                        _ = rd_kafka_header_add(headers, header.name, -1, bytes.baseAddress, bytes.count)
                    }
                } else {
                    _ = rd_kafka_header_add(headers, header.name, -1, nil, 0)
                }
            }
        }
        let error: OpaquePointer? = record.topic.withCString { topic in
            withOptionalBytes(record.key) { key in
                withOptionalBytes(record.value) { value in
                    // Stack-allocated argument list: no heap allocation per record.
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                        fields.initialize(repeating: rd_kafka_vu_t())
                        fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        fields[0].u.cstr = topic
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

/// Collects the delivery reports of one `send` call.
private final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
    }

    private let state: Mutex<State>
    /// Each record's topic, so delivery reports need no C-string conversion per record.
    let topics: [String]

    init(topics: [String]) {
        self.topics = topics
        state = Mutex(State(results: Array(repeating: nil, count: topics.count), remaining: topics.count, waiter: nil))
    }

    func complete(index: Int, with result: Result<KafkaDeliveryReport, KafkaError>) {
        let resume = state.withLock { state -> (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? in
            guard state.results[index] == nil else { return nil }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.results.map { $0! })
        }
        if let (waiter, results) = resume { waiter.resume(returning: results) }
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
private final class DeliverySlot {
    let batch: DeliveryBatch
    let index: Int

    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }
}

/// Runs on the producer's poll thread for every record librdkafka is done with.
private let deliveryReportCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    rk, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    let slot = Unmanaged<DeliverySlot>.fromOpaque(opaque).takeRetainedValue()
    let record = message.pointee
    if record.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        let report = KafkaDeliveryReport(topic: slot.batch.topics[slot.index], partition: record.partition, offset: record.offset)
        slot.batch.complete(index: slot.index, with: .success(report))
    } else {
        var error = KafkaError.from(record.err, operation: "produce")
        // A record failing because the client hit a fatal error (e.g. idempotence broken) is
        // reported as fatal: retrying on this client cannot succeed.
        if let rk, rd_kafka_fatal_error(rk, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
            error.isFatal = true
            error.isRetriable = false
        }
        slot.batch.complete(index: slot.index, with: .failure(error))
    }
}
