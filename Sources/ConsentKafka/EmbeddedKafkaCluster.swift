internal import CRdKafka
package import Logging

/// librdkafka's built-in mock cluster: N Kafka-protocol brokers on 127.0.0.1, for the
/// embedded default set-up and for tests (with fault injection).
///
/// Other processes (kcat, Python confluent-kafka) can connect to `bootstrapServers`. Known
/// limits of librdkafka 2.0.2's mock (see docs/kafka.md): no CreateTopics (use `createTopic`),
/// no compaction or retention configs, about 5 MiB kept per partition before old data is dropped.
package final class EmbeddedKafkaCluster: Sendable {
    /// Consumer settings that make librdkafka 2.0.2's mock cluster serve consumers quickly
    /// (docs/kafka.md): its Fetch handler holds an empty fetch for the full `fetch.wait.max.ms`,
    /// and a short session lets a test's or a restarted run's group re-form in seconds. The one
    /// copy the embedded runs, the benchmarks and the tests use.
    package static let consumerTuning: [String: String] = [
        "fetch.wait.max.ms": "10",
        "session.timeout.ms": "6000",
        "heartbeat.interval.ms": "500",
    ]

    private let client: RdKafkaClient
    /// `@unchecked`-free: the mock cluster pointer is only used through librdkafka's mock API,
    /// which posts every operation to the cluster's own thread.
    private let cluster: UncheckedHandle
    /// Number of brokers (ids 1…N).
    package let brokerCount: Int
    /// Comma-separated `127.0.0.1:port` list of the brokers.
    package let bootstrapServers: String

    /// Starts a mock cluster with `brokers` brokers.
    package init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        guard brokers >= 1 else {
            throw KafkaError(
                code: .invalidConfiguration, operation: "start embedded cluster",
                detail: "broker count must be at least 1")
        }
        // A plain producer handle hosts the cluster (librdkafka's bookkeeping needs one).
        client = try RdKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: ["client.id": "consent-bridge-embedded-cluster", "log.connection.close": "false"],
            logger: logger,
            operation: "start embedded cluster"
        )
        guard let mock = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            client.destroy()
            throw KafkaError(
                code: .invalidConfiguration, operation: "start embedded cluster",
                detail: "librdkafka could not create the mock cluster")
        }
        cluster = UncheckedHandle(pointer: mock)
        brokerCount = brokers
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(mock))
        brokerPorts = Set(
            bootstrapServers.split(separator: ",").compactMap { $0.split(separator: ":").last.flatMap { UInt16($0) } })
        MockBrokerNoDelay.register(brokerPorts)
    }

    /// The brokers' listening ports, whose connections get TCP_NODELAY (the mock does not set
    /// it; see `MockBrokerNoDelay`).
    private let brokerPorts: Set<UInt16>

    /// Creates a topic (the mock has no CreateTopics API). Creating an existing topic is an error.
    package func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let err = rd_kafka_mock_topic_create(
            cluster.pointer, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError.from(err, operation: "create topic") }
    }

    /// Takes broker `id` (or every broker for `nil`) down: connections drop and new ones are refused.
    package func setBrokerDown(_ id: Int32? = nil) {
        _ = rd_kafka_mock_broker_set_down(cluster.pointer, id ?? -1)
    }

    /// Brings broker `id` (or every broker for `nil`) back up.
    package func setBrokerUp(_ id: Int32? = nil) {
        _ = rd_kafka_mock_broker_set_up(cluster.pointer, id ?? -1)
    }

    /// Adds `milliseconds` of round-trip time to broker `id` (or all).
    package func setRoundTripTime(_ milliseconds: Int, broker id: Int32? = nil) {
        _ = rd_kafka_mock_broker_set_rtt(cluster.pointer, id ?? -1, Int32(milliseconds))
    }

    /// The next requests of `api` fail with `errors`, in order (one error per request).
    package func pushRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaError.Code]) {
        var codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        rd_kafka_mock_push_request_errors_array(cluster.pointer, api.rawValue, codes.count, &codes)
    }

    /// Moves the leadership of a partition to broker `id` (-1: leaderless).
    package func setPartitionLeader(topic: String, partition: Int32, broker id: Int32) {
        _ = rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, id)
    }

    /// Makes metadata requests for `topic` report `error` (`nil` clears it).
    package func setTopicError(_ topic: String, _ error: KafkaError.Code?) {
        rd_kafka_mock_topic_set_error(cluster.pointer, topic, rd_kafka_resp_err_t(rawValue: error?.rawValue ?? 0))
    }

    /// Stops the brokers and frees the cluster.
    package func shutdown() {
        guard
            !isShutDown.withLock({ done in
                defer { done = true }
                return done
            })
        else { return }
        MockBrokerNoDelay.unregister(brokerPorts)
        rd_kafka_mock_cluster_destroy(cluster.pointer)
        client.destroy()
    }

    private let isShutDown = LockedBox(false)

    deinit { shutdown() }
}

/// Kafka protocol request types, for fault injection.
package struct KafkaAPIKey: Sendable, Hashable {
    /// The Kafka protocol's number for the request type.
    package let rawValue: Int16
    /// A request type by its protocol number (for one without a constant below).
    package init(rawValue: Int16) { self.rawValue = rawValue }

    /// Produce requests (API key 0).
    package static let produce = KafkaAPIKey(rawValue: 0)
    /// Fetch requests (API key 1).
    package static let fetch = KafkaAPIKey(rawValue: 1)
    /// ListOffsets requests (API key 2), e.g. high watermark queries.
    package static let listOffsets = KafkaAPIKey(rawValue: 2)
    /// Metadata requests (API key 3).
    package static let metadata = KafkaAPIKey(rawValue: 3)
    /// OffsetCommit requests (API key 8).
    package static let offsetCommit = KafkaAPIKey(rawValue: 8)
    /// FindCoordinator requests (API key 10).
    package static let findCoordinator = KafkaAPIKey(rawValue: 10)
    /// JoinGroup requests (API key 11).
    package static let joinGroup = KafkaAPIKey(rawValue: 11)
    /// Consumer group Heartbeat requests (API key 12).
    package static let heartbeat = KafkaAPIKey(rawValue: 12)
    /// SyncGroup requests (API key 14).
    package static let syncGroup = KafkaAPIKey(rawValue: 14)
    /// InitProducerId requests (API key 22), sent by idempotent producers at start.
    package static let initProducerID = KafkaAPIKey(rawValue: 22)
}

extension KafkaError.Code {
    /// A broker-side error code of the Kafka protocol (e.g. 6 = NOT_LEADER_FOR_PARTITION).
    package static func broker(_ protocolCode: Int32) -> KafkaError.Code { KafkaError.Code(rawValue: protocolCode) }
    /// NOT_LEADER_FOR_PARTITION (6): the broker no longer leads the partition (retriable).
    package static let notLeaderForPartition = KafkaError.Code(
        rawValue: Int32(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION.rawValue))
    /// NOT_ENOUGH_REPLICAS (19): too few in-sync replicas for acks=all (retriable).
    package static let notEnoughReplicas = KafkaError.Code(
        rawValue: Int32(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS.rawValue))
    /// REQUEST_TIMED_OUT (7): the broker timed out the request (retriable).
    package static let requestTimedOut = KafkaError.Code(rawValue: Int32(RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT.rawValue))
    /// CLUSTER_AUTHORIZATION_FAILED (31): the client may not perform a cluster-level operation.
    package static let clusterAuthorizationFailed = KafkaError.Code(
        rawValue: Int32(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED.rawValue))
    /// OUT_OF_ORDER_SEQUENCE_NUMBER (45): fatal for an idempotent producer.
    package static let outOfOrderSequenceNumber = KafkaError.Code(
        rawValue: Int32(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER.rawValue))
    /// TOPIC_AUTHORIZATION_FAILED (29): the client may not use the topic.
    package static let topicAuthorizationFailed = KafkaError.Code(
        rawValue: Int32(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED.rawValue))
}
