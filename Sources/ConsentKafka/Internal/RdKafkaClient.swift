internal import CRdKafka
import Foundation
import Logging
import Synchronization

/// State reachable from librdkafka's C callbacks through the configuration's opaque pointer.
///
/// Callbacks run on whichever thread serves librdkafka's queues (our poll threads, and for
/// logs librdkafka's internal threads), so everything here is immutable or behind a `Mutex`.
final class RdKafkaCallbackContext: Sendable {
    let logger: Logger
    /// The first fatal error librdkafka raised on this client, if any.
    let fatalError = Mutex<KafkaError?>(nil)
    /// Called from the rebalance callback (consumers only).
    let rebalance = Mutex<
        (@Sendable (OpaquePointer, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> Void)?
    >(nil)

    init(logger: Logger) { self.logger = logger }
}

/// The owner of one `rd_kafka_t` handle.
///
/// `@unchecked Sendable`: librdkafka documents `rd_kafka_t` as thread-safe, and the handle is
/// only destroyed once, from `destroy`, after every user of it has stopped.
final class RdKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let context: RdKafkaCallbackContext
    let kind: String
    private let isDestroyed = Atomic<Bool>(false)

    /// Creates a handle of `type` from `properties`. Frees the configuration on every failure.
    init(
        type: rd_kafka_type_t,
        properties: [String: String],
        logger: Logger,
        operation: String,
        configure: (OpaquePointer) -> Void = { _ in }
    ) throws(KafkaError) {
        let context = RdKafkaCallbackContext(logger: logger)
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .invalidConfiguration, operation: operation, detail: "out of memory")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        // Sorted so that errors are reported deterministically.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                let detail =
                    KafkaClientConfiguration.isSecret(key)
                    ? "invalid value for property \(key)"
                    : String(errorBuffer: errorBuffer)
                throw KafkaError(code: .invalidConfiguration, operation: operation, detail: detail)
            }
        }
        // The context outlives the handle: it is released in `destroy` after rd_kafka_destroy.
        rd_kafka_conf_set_opaque(conf, Unmanaged.passRetained(context).toOpaque())
        rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)
        rd_kafka_conf_set_error_cb(conf, rdKafkaErrorCallback)
        configure(conf)

        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            // On failure the configuration (and our retained context) is still ours.
            rd_kafka_conf_destroy(conf)
            Unmanaged.passUnretained(context).release()
            let detail = String(errorBuffer: errorBuffer)
            throw KafkaError(code: .invalidConfiguration, operation: operation, detail: detail)
        }
        self.handle = handle
        self.context = context
        self.kind = type == RD_KAFKA_PRODUCER ? "producer" : "consumer"
    }

    /// The fatal error raised on this client, if any (also polled from librdkafka).
    func currentFatalError(operation: String) -> KafkaError? {
        if let recorded = context.fatalError.withLock({ $0 }) { return recorded }
        var buffer = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &buffer, buffer.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let detail = String(errorBuffer: buffer)
        return KafkaError(
            code: KafkaError.Code(rawValue: Int32(code.rawValue)), isFatal: true, operation: operation, detail: detail)
    }

    /// Destroys the handle on its own thread and waits at most `timeout` for it.
    ///
    /// librdkafka 2.0.2 can hang in `rd_kafka_destroy` (upstream #4674): the wait is bounded,
    /// and a handle that does not finish in time is logged and left to its thread.
    func destroy(timeout: Duration = .seconds(10), flags: Int32 = 0) {
        guard !isDestroyed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let done = DispatchSemaphore(value: 0)
        let handle = UncheckedHandle(pointer: self.handle)
        let context = self.context
        Thread.detachNewThread {
            rd_kafka_destroy_flags(handle.pointer, flags)
            Unmanaged.passUnretained(context).release()
            done.signal()
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        if done.wait(timeout: .now() + seconds) == .timedOut {
            logger.warning(
                "Kafka client did not finish closing in time; leaving it to its thread",
                metadata: ["kafka.client": "\(kind)"])
        }
    }

    var logger: Logger { context.logger }

    deinit { destroy() }
}

/// The context stored as the configuration's opaque pointer of `rk`.
func callbackContext(of rk: OpaquePointer?) -> RdKafkaCallbackContext? {
    guard let rk, let opaque = rd_kafka_opaque(rk) else { return nil }
    return Unmanaged<RdKafkaCallbackContext>.fromOpaque(opaque).takeUnretainedValue()
}

/// librdkafka's log lines go to swift-log. They describe connections and protocol state,
/// never message contents.
private let rdKafkaLogCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
        rk, level, facility, message in
        guard let context = callbackContext(of: rk) else { return }
        let swiftLevel: Logger.Level =
            switch level {
            case ...3: .error
            case 4: .warning
            case 5, 6: .info
            default: .debug
            }
        let text = message.map { String(cString: $0) } ?? ""
        let facilityText = facility.map { String(cString: $0) } ?? ""
        context.logger.log(
            level: swiftLevel, "librdkafka", metadata: ["kafka.facility": "\(facilityText)", "kafka.log": "\(text)"])
    }

/// Global (client-level) errors: mostly transient and retried by librdkafka itself; fatal
/// ones are recorded so the next operation reports them.
private let rdKafkaErrorCallback:
    @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
        rk, err, reason, _ in
        guard let context = callbackContext(of: rk) else { return }
        let code = rd_kafka_resp_err_t(rawValue: err)
        let text = reason.map { String(cString: $0) } ?? ""
        if code == RD_KAFKA_RESP_ERR__FATAL, let rk {
            var buffer = [CChar](repeating: 0, count: 512)
            let original = rd_kafka_fatal_error(rk, &buffer, buffer.count)
            let detail = String(errorBuffer: buffer)
            let error = KafkaError(
                code: KafkaError.Code(rawValue: Int32(original.rawValue)), isFatal: true, operation: "client",
                detail: detail)
            context.fatalError.withLock { if $0 == nil { $0 = error } }
            context.logger.error("Kafka client raised a fatal error", metadata: ["kafka.error": "\(error)"])
        } else {
            context.logger.warning(
                "Kafka client error",
                metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(code)))", "kafka.reason": "\(text)"])
        }
    }

/// A raw librdkafka handle moved to another thread. `@unchecked Sendable`: librdkafka handles
/// (`rd_kafka_t`) are thread-safe; only their owner decides when they are destroyed.
struct UncheckedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

extension Duration {
    /// Whole milliseconds, clamped to what librdkafka's `int timeout_ms` parameters take.
    var librdkafkaMilliseconds: Int32 {
        Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
