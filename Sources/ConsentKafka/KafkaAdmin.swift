internal import CRdKafka
package import Logging

/// A topic to create.
package struct KafkaTopicSpecification: Sendable, Hashable {
    /// The topic's name.
    package var name: String
    /// Number of partitions.
    package var partitions: Int
    /// Copies of each partition (default 1).
    package var replicationFactor: Int
    /// Topic configs, e.g. `cleanup.policy=compact`.
    package var configs: [String: String]

    /// A topic specification; without `configs` the topic gets the broker's defaults.
    package init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// What the cluster reports about itself.
package struct KafkaClusterMetadata: Sendable, Hashable {
    /// A broker: its id and the address it advertises.
    package struct Broker: Sendable, Hashable {
        /// The broker's id.
        package var id: Int32
        /// The host name the broker advertises.
        package var host: String
        /// The port the broker advertises.
        package var port: Int32
    }

    /// A topic: its name, partition count and any error the cluster reports for it.
    package struct Topic: Sendable, Hashable {
        /// The topic's name.
        package var name: String
        /// Number of partitions.
        package var partitionCount: Int
        /// `nil` when the topic is healthy.
        package var error: KafkaError.Code?
    }

    /// Every broker the cluster reports.
    package var brokers: [Broker]
    /// Every topic in the cluster, including those in error (see `Topic.error`).
    package var topics: [Topic]

    /// The partition count of `topic`; nil when the cluster does not report it healthy with
    /// at least one partition.
    package func partitionCount(of topic: String) -> Int32? {
        guard let found = topics.first(where: { $0.name == topic }), found.error == nil, found.partitionCount > 0
        else { return nil }
        return Int32(found.partitionCount)
    }
}

/// Cluster administration: topic creation and metadata. Every call blocks on the broker, so
/// each runs on the admin client's dedicated thread.
package final class KafkaAdmin: Sendable {
    private let client: RdKafkaClient
    private let blocking = DedicatedThread(name: KafkaThreadNames.blocking)

    /// Creates the admin client (a librdkafka producer handle that never produces); throws if the
    /// configuration is rejected.
    package init(configuration: KafkaClientConfiguration, logger: Logger) throws(KafkaError) {
        client = try RdKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties(defaults: [:]),
            logger: logger,
            operation: "create admin client"
        )
    }

    /// Creates topics; a topic that already exists counts as created when `ignoreExisting`.
    /// (librdkafka's mock cluster does not implement CreateTopics: use `EmbeddedKafkaCluster`.)
    package func createTopics(
        _ topics: [KafkaTopicSpecification], ignoreExisting: Bool = true, timeout: Duration = .seconds(30)
    ) async throws(KafkaError) {
        let milliseconds = timeout.librdkafkaMilliseconds
        let client = self.client
        let failure = try await blocking.run("create topics") { () -> KafkaError? in
            var errorBuffer = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for spec in topics {
                guard
                    let newTopic = rd_kafka_NewTopic_new(
                        spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorBuffer,
                        errorBuffer.count)
                else {
                    return KafkaError(
                        code: .invalidConfiguration, operation: "create topics",
                        detail: String(errorBuffer: errorBuffer))
                }
                newTopics.append(newTopic)
                for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                    let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
                    if err != RD_KAFKA_RESP_ERR_NO_ERROR { return KafkaError.from(err, operation: "create topics") }
                }
            }
            guard let queue = rd_kafka_queue_new(client.handle) else {
                return KafkaError(code: .invalidConfiguration, operation: "create topics", detail: "no queue")
            }
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorBuffer, errorBuffer.count)
            _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorBuffer, errorBuffer.count)
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
            }
            guard let event = rd_kafka_queue_poll(queue, milliseconds + 1000) else {
                return KafkaError(code: .timedOut, isRetriable: true, operation: "create topics")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            if eventError != RD_KAFKA_RESP_ERR_NO_ERROR {
                return KafkaError.from(
                    eventError, operation: "create topics",
                    detail: rd_kafka_event_error_string(event).map { String(cString: $0) })
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { return nil }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return nil }
            for index in 0..<count {
                let err = rd_kafka_topic_result_error(results[index])
                if err == RD_KAFKA_RESP_ERR_NO_ERROR
                    || (ignoreExisting && err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                {
                    continue
                }
                let name = String(cString: rd_kafka_topic_result_name(results[index]))
                return KafkaError.from(err, operation: "create topic \(name)")
            }
            return nil
        }
        if let failure { throw failure }
    }

    /// High watermarks of several partitions of `topic`, one ListOffsets request per leader.
    ///
    /// A client that never fetches answers this at once. A consumer's own query waits on its
    /// broker connection behind a pending long-poll fetch: a Kafka broker answers one
    /// connection's requests strictly in order, so a query sent while a fetch waits for data
    /// (up to `fetch.wait.max.ms`) waits as long.
    package func highWatermarks(topic: String, partitions: [Int32], timeout: Duration = .seconds(5))
        async throws(KafkaError) -> [Int32: Int64]
    {
        try await queryHighWatermarks(
            client: client, on: blocking, topic: topic, partitions: partitions, timeout: timeout)
    }

    /// Brokers and topics as the cluster reports them.
    package func metadata(timeout: Duration = .seconds(10)) async throws(KafkaError) -> KafkaClusterMetadata {
        try await fetchMetadata(client: client, on: blocking, timeout: timeout)
    }

    /// The cluster's id, as the cluster reports it in its metadata now (what a consumer's stored
    /// positions are bound to: see `KafkaConsumerConfiguration.StartingOffsets`). Asks the
    /// cluster afresh (a metadata request for no topic): librdkafka's cached id would still name
    /// a cluster replaced behind the same address.
    package func clusterID(timeout: Duration = .seconds(10)) async throws(KafkaError) -> String {
        let milliseconds = timeout.librdkafkaMilliseconds
        let client = self.client
        let id = try await blocking.run("cluster id") { () -> String? in
            var metadata: UnsafePointer<rd_kafka_metadata>? = nil
            let err = rd_kafka_metadata(client.handle, 0, nil, &metadata, milliseconds)
            if let metadata { rd_kafka_metadata_destroy(metadata) }
            guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
            guard let pointer = rd_kafka_clusterid(client.handle, 0) else { return nil }
            defer { rd_kafka_mem_free(client.handle, pointer) }
            return String(cString: pointer)
        }
        guard let id, !id.isEmpty else { throw KafkaError(code: .clusterIdentityUnknown, operation: "cluster id") }
        return id
    }

    /// Releases the client.
    package func close() async {
        await blocking.stop()
        let client = self.client
        await DedicatedThread.runOnce(name: KafkaThreadNames.destroy) { client.destroy() }
    }
}

/// Reads cluster metadata on `thread` (a blocking broker round trip).
func fetchMetadata(client: RdKafkaClient, on thread: DedicatedThread, timeout: Duration) async throws(KafkaError)
    -> KafkaClusterMetadata
{
    let milliseconds = timeout.librdkafkaMilliseconds
    let result = try await thread.run("metadata") { () -> Result<KafkaClusterMetadata, KafkaError> in
        var metadata: UnsafePointer<rd_kafka_metadata>? = nil
        let err = rd_kafka_metadata(client.handle, 1, nil, &metadata, milliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            return .failure(KafkaError.from(err, operation: "metadata"))
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        let raw = metadata.pointee
        let brokers = (0..<Int(raw.broker_cnt)).map { index in
            let broker = raw.brokers[index]
            return KafkaClusterMetadata.Broker(id: broker.id, host: String(cString: broker.host), port: broker.port)
        }
        let topics = (0..<Int(raw.topic_cnt)).map { index in
            let topic = raw.topics[index]
            return KafkaClusterMetadata.Topic(
                name: String(cString: topic.topic),
                partitionCount: Int(topic.partition_cnt),
                error: topic.err == RD_KAFKA_RESP_ERR_NO_ERROR
                    ? nil : KafkaError.Code(rawValue: Int32(topic.err.rawValue))
            )
        }
        return .success(KafkaClusterMetadata(brokers: brokers, topics: topics))
    }
    return try result.get()
}
