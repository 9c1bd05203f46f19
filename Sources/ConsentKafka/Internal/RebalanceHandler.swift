internal import CRdKafka
import Dispatch
import Foundation
import Logging
import Synchronization

/// Turns librdkafka's rebalance callback into assignments that start at the caller's stored
/// offsets.
///
/// The callback runs on the consumer's own poll thread, so waiting there for the caller's
/// (async) offset lookup blocks no Swift task; it only delays fetching, which is the point.
struct RebalanceHandler: Sendable {
    let startingOffsets: KafkaConsumerConfiguration.StartingOffsets
    let logger: Logger
    let onChange: @Sendable (KafkaAssignmentChange) -> Void
    let onFailure: @Sendable (any Error) -> Void

    func handle(
        _ rk: OpaquePointer, _ err: rd_kafka_resp_err_t,
        _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let isCooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch err {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let assigned = partitions.topicPartitions
            let lookup = Self.clusterID(rk).map { lookUpStartingOffsets(assigned, clusterID: $0) }
            switch lookup ?? .failure(KafkaError(code: .clusterIdentityUnknown, operation: "assign")) {
            case .success(let stored):
                let earliest = earliestOffsets(rk, assigned.filter { stored[$0] == nil })
                var starts: [KafkaTopicPartition: Int64] = [:]
                for index in 0..<Int(partitions.pointee.cnt) {
                    let key = assigned[index]
                    let start = stored[key] ?? earliest[key] ?? Int64(RD_KAFKA_OFFSET_BEGINNING)
                    partitions.pointee.elems[index].offset = start
                    starts[key] = start
                }
                if isCooperative {
                    if let error = rd_kafka_incremental_assign(rk, partitions) {
                        onFailure(KafkaError.consuming(error, operation: "assign"))
                        return
                    }
                } else {
                    let result = rd_kafka_assign(rk, partitions)
                    guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                        onFailure(KafkaError.from(result, operation: "assign"))
                        return
                    }
                }
                logger.info(
                    "Kafka partitions assigned",
                    metadata: [
                        "kafka.partitions": "\(assigned.count)",
                        "kafka.topics": "\(Set(assigned.map(\.topic)).sorted().joined(separator: ","))",
                    ])
                onChange(.assigned(starts))
            case .failure(let error):
                // Fail closed: without the stored positions we must not read at all.
                logger.error(
                    "Stored offsets unavailable; consumer stops", metadata: ["error.type": "\(type(of: error))"])
                if isCooperative {
                    if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
                } else {
                    _ = rd_kafka_assign(rk, nil)
                }
                onFailure(error)
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = partitions.topicPartitions
            onChange(.revoked(revoked))
            if isCooperative {
                if let error = rd_kafka_incremental_unassign(rk, partitions) { rd_kafka_error_destroy(error) }
            } else {
                _ = rd_kafka_assign(rk, nil)
            }
            logger.info(
                "Kafka partitions revoked",
                metadata: [
                    "kafka.partitions": "\(revoked.count)",
                    "kafka.topics": "\(Set(revoked.map(\.topic)).sorted().joined(separator: ","))",
                ])
        default:
            logger.warning(
                "Kafka rebalance error", metadata: ["kafka.error": "\(String(cString: rd_kafka_err2name(err)))"])
            _ = rd_kafka_assign(rk, nil)
        }
    }

    /// The first offset of each partition, asked in one ListOffsets request per leader.
    ///
    /// Starting there is what `RD_KAFKA_OFFSET_BEGINNING` means, but librdkafka 2.0.2 resolves
    /// BEGINNING with a query per partition which, sent before the partition has joined its
    /// leader's broker thread, fails with "no current leader" and is retried only after a fixed
    /// 500 ms (seen as consume runs 3× slower, at random). This call waits for the leaders.
    /// Partitions it cannot answer for start at BEGINNING, as before: never at the end.
    private func earliestOffsets(_ rk: OpaquePointer, _ partitions: [KafkaTopicPartition]) -> [KafkaTopicPartition:
        Int64]
    {
        if partitions.isEmpty { return [:] }
        let list = TopicPartitionList(partitions: partitions)
        // As a timestamp, RD_KAFKA_OFFSET_BEGINNING (-2) asks for the earliest offset.
        for index in 0..<Int(list.pointer.pointee.cnt) {
            list.pointer.pointee.elems[index].offset = Int64(RD_KAFKA_OFFSET_BEGINNING)
        }
        guard rd_kafka_offsets_for_times(rk, list.pointer, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR else { return [:] }
        // Matched by topic and partition, not by position (the call may reorder the list).
        var earliest: [KafkaTopicPartition: Int64] = [:]
        let answered = list.pointer.topicPartitions
        for index in answered.indices {
            let element = list.pointer.pointee.elems[index]
            if element.err == RD_KAFKA_RESP_ERR_NO_ERROR, element.offset >= 0 {
                earliest[answered[index]] = element.offset
            }
        }
        let wanted = Set(partitions)
        return earliest.filter { wanted.contains($0.key) }
    }

    /// The id of the cluster the consumer is connected to, from its metadata (cached by the
    /// time partitions are assigned; waits up to 10 s otherwise). nil when the cluster does not
    /// say: the caller then reads nothing (a position cannot be checked against its cluster).
    private static func clusterID(_ rk: OpaquePointer) -> String? {
        guard let pointer = rd_kafka_clusterid(rk, 10_000) else { return nil }
        defer { rd_kafka_mem_free(rk, pointer) }
        let id = String(cString: pointer)
        return id.isEmpty ? nil : id
    }

    /// Runs the async lookup and waits for it on the current (poll) thread.
    private func lookUpStartingOffsets(_ partitions: [KafkaTopicPartition], clusterID: String) -> Result<
        [KafkaTopicPartition: Int64], any Error
    > {
        let result = Mutex<Result<[KafkaTopicPartition: Int64], any Error>?>(nil)
        let done = DispatchSemaphore(value: 0)
        let lookup = startingOffsets
        Task {
            let outcome: Result<[KafkaTopicPartition: Int64], any Error>
            do { outcome = .success(try await lookup(partitions, clusterID)) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}

/// Runs on the consumer's poll thread whenever the group assigns or revokes partitions.
let rebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        UnsafeMutableRawPointer?
    ) -> Void = {
        rk, err, partitions, _ in
        guard let rk, let partitions else { return }
        guard let handler = callbackContext(of: rk)?.rebalance.withLock({ $0 }) else {
            _ = rd_kafka_assign(rk, nil)
            return
        }
        handler(rk, err, partitions)
    }
