internal import CRdKafka

/// An error from the Kafka client.
///
/// The description is safe to log: it names the operation and librdkafka's error, never a
/// message key, value or header (which may carry personal data).
package struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes (librdkafka's error codes plus our own).
    package struct Code: Sendable, Hashable, CustomStringConvertible {
        /// librdkafka's `rd_kafka_resp_err_t` value, or one of our own (below -1000).
        package let rawValue: Int32

        /// A code from its raw value (librdkafka's, the Kafka protocol's, or one of ours).
        package init(rawValue: Int32) { self.rawValue = rawValue }

        /// The configuration was rejected (unknown key, invalid value).
        package static let invalidConfiguration = Code(rawValue: -10_001)
        /// The client was used after it was closed.
        package static let clientClosed = Code(rawValue: -10_002)
        /// A consumer's batches were read before `start()`: they would never come.
        package static let consumerNotStarted = Code(rawValue: -10_003)
        /// The cluster did not say which cluster it is (its id), so stored positions cannot be
        /// checked against it.
        package static let clusterIdentityUnknown = Code(rawValue: -10_004)
        /// A blocking call did not finish within its time limit.
        package static let timedOut = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__TIMED_OUT.rawValue))
        /// A message was not delivered within `message.timeout.ms`.
        package static let messageTimedOut = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT.rawValue))
        /// All brokers are down or unreachable.
        package static let allBrokersDown = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN.rawValue))
        /// The local producer queue is full.
        package static let queueFull = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue))
        /// The topic or partition does not exist.
        package static let unknownTopicOrPartition = Code(
            rawValue: Int32(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue))
        /// The client raised a fatal error; it must be re-created.
        package static let fatal = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__FATAL.rawValue))
        /// Network transport failure.
        package static let transport = Code(rawValue: Int32(RD_KAFKA_RESP_ERR__TRANSPORT.rawValue))

        /// librdkafka's symbolic name of the code (e.g. `_MSG_TIMED_OUT`), or our own name.
        package var name: String {
            switch self {
            case .invalidConfiguration: return "INVALID_CONFIGURATION"
            case .clientClosed: return "CLIENT_CLOSED"
            case .consumerNotStarted: return "CONSUMER_NOT_STARTED"
            case .clusterIdentityUnknown: return "CLUSTER_IDENTITY_UNKNOWN"
            default: return String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: rawValue)))
            }
        }

        /// The symbolic name (`name`).
        package var description: String { name }
    }

    /// The error's code.
    package var code: Code
    /// The client cannot continue: it must be closed and re-created (e.g. idempotence broken).
    package var isFatal: Bool
    /// Trying the same operation again may succeed (broker down, timeout, queue full …).
    package var isRetriable: Bool
    /// What we were doing, e.g. "produce", "create consumer". Constant strings only.
    package var operation: String
    /// librdkafka's own error text. librdkafka never puts message payloads in these strings.
    package var detail: String

    /// An error; `operation` must be a constant string, never message content.
    package init(code: Code, isFatal: Bool = false, isRetriable: Bool = false, operation: String, detail: String = "") {
        self.code = code
        self.isFatal = isFatal
        self.isRetriable = isRetriable
        self.operation = operation
        self.detail = detail
    }

    /// `Kafka <operation> failed: <code>`, whether fatal or retriable, and librdkafka's detail.
    package var description: String {
        var text = "Kafka \(operation) failed: \(code.name)"
        if isFatal { text += " (fatal)" } else if isRetriable { text += " (retriable)" }
        if !detail.isEmpty { text += ": \(detail)" }
        return text
    }
}

extension KafkaError {
    /// An error for a librdkafka response code, classifying retriability the way the Kafka
    /// protocol does (transient network and leadership errors are retriable).
    static func from(_ err: rd_kafka_resp_err_t, operation: String, detail: String? = nil) -> KafkaError {
        let code = Code(rawValue: Int32(err.rawValue))
        return KafkaError(
            code: code,
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            isRetriable: Self.retriableCodes.contains(err.rawValue),
            operation: operation,
            detail: detail ?? String(cString: rd_kafka_err2str(err))
        )
    }

    /// An error from an `rd_kafka_error_t`, which it destroys.
    static func consuming(_ error: OpaquePointer, operation: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: Code(rawValue: Int32(rd_kafka_error_code(error).rawValue)),
            isFatal: rd_kafka_error_is_fatal(error) != 0,
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            operation: operation,
            detail: String(cString: rd_kafka_error_string(error))
        )
    }

    /// Whether the broker (or the client, before sending) refused this one record for what it
    /// is (too large, malformed): sending it again cannot succeed, and other records are
    /// unaffected. Anything else (a broker down, a timeout, a missing topic) is an outage.
    package var isRecordRefused: Bool { Self.recordRefusedCodes.contains(code.rawValue) }

    private static let recordRefusedCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_RECORD,
        RD_KAFKA_RESP_ERR_INVALID_MSG, RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE,
    ].reduce(into: []) { $0.insert(Int32($1.rawValue)) }

    /// Response codes after which the same request can succeed later.
    private static let retriableCodes: Set<rd_kafka_resp_err_t.RawValue> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__RESOLVE,
        RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR, RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE,
    ].reduce(into: []) { $0.insert($1.rawValue) }
}
