package import ConsentConfiguration
package import ConsentStorage
import Foundation
package import Logging

/// `consent-bridge bench store`: throughput of the bridge's batch write.
///
/// Each message written is the bridge's full record of one forwarded referral: a decision (the
/// dedup id), a disclosure, the copy's outbox row carrying its notice and the receipt, plus the
/// batch's offsets, in one transaction per batch. Prints messages/s and table rows/s (3 rows
/// per message) per batch size.
package enum StoreBenchmark {
    /// One measured batch size.
    package struct Result: Sendable, Hashable, Codable {
        /// Messages per transaction.
        package var batchSize: Int
        /// Transactions run.
        package var batches: Int
        /// Messages written.
        package var messages: Int
        /// Table rows written (decision + disclosure + outbox row per message).
        package var rows: Int
        /// Wall-clock seconds.
        package var seconds: Double
        /// Messages per second.
        package var messagesPerSecond: Double
        /// Rows per second.
        package var rowsPerSecond: Double
    }

    /// The batch sizes measured unless others are asked for: one event at a time, the
    /// pipeline's default batch (500) and the sizes around it.
    package static let defaultBatchSizes = [1, 100, 500, 1000]

    /// Runs the benchmark against a fresh bridge store at `location` (must be empty or new).
    ///
    /// Each batch size runs until `minimumSeconds` have passed and at least `minimumMessages`
    /// were written (after one warm-up batch).
    package static func run(
        location: StoreLocation,
        batchSizes: [Int] = defaultBatchSizes,
        minimumSeconds: Double = 3,
        minimumMessages: Int = 2000,
        logger: Logger
    ) async throws(StorageError) -> [Result] {
        let store = try await BridgeStore.open(location, logger: logger)
        var results: [Result] = []
        var offset: Int64 = 0
        do throws(StorageError) {
            for batchSize in batchSizes where batchSize > 0 {
                _ = try await store.record(Self.batch(size: batchSize, startingAt: offset))
                offset += Int64(batchSize)
                let clock = ContinuousClock()
                let start = clock.now
                var messages = 0
                var batches = 0
                var elapsed = 0.0
                // As in the bridge's pipelines, the next batch is built and encoded into rows
                // while the current one is recorded: what is measured is the store's write path
                // as the bridge drives it, not the benchmark making up its data in between.
                var next = Self.prepareInBackground(size: batchSize, startingAt: offset, for: store)
                defer { next.cancel() }
                repeat {
                    let prepared = try await Self.value(of: next)
                    offset += Int64(batchSize)
                    next = Self.prepareInBackground(size: batchSize, startingAt: offset, for: store)
                    let result = try await store.record(prepared)
                    guard result.recordedMessageIDs.count == batchSize else {
                        throw StorageError(.invalidBatch, "benchmark batch was not fully recorded")
                    }
                    messages += batchSize
                    batches += 1
                    let duration = clock.now - start
                    elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                } while elapsed < minimumSeconds || messages < minimumMessages
                // `offset` is where the batch prepared last, and never recorded, starts: the
                // next batch size takes its numbers again.
                results.append(
                    Result(
                        batchSize: batchSize, batches: batches, messages: messages, rows: messages * 3,
                        seconds: elapsed,
                        messagesPerSecond: Double(messages) / elapsed, rowsPerSecond: Double(messages * 3) / elapsed))
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        return results
    }

    /// Builds and encodes a batch off the caller's task (`BridgeStore.prepare`).
    private static func prepareInBackground(size: Int, startingAt offset: Int64, for store: BridgeStore)
        -> Task<PreparedBridgeBatch, any Error>
    {
        Task { try store.prepare(batch(size: size, startingAt: offset)) }
    }

    private static func value(of task: Task<PreparedBridgeBatch, any Error>) async throws(StorageError)
        -> PreparedBridgeBatch
    {
        do {
            return try await task.value
        } catch let error as StorageError {
            throw error
        } catch {
            throw StorageError(.invalidBatch, "benchmark batch could not be prepared", cause: error)
        }
    }

    /// A realistic batch: forwarded referrals with ~1 KiB filtered payloads.
    static func batch(size: Int, startingAt offset: Int64) -> BridgeBatch {
        let now = Date()
        let payload = Array(String(repeating: "{\"eventId\":\"x\",\"referral\":\"work\"}", count: 30).utf8)
        let messages = (0..<size).map { index -> BridgeMessageRecord in
            let position = offset + Int64(index)
            let messageID = "bench-\(position)"
            let disclosureID = "bench-disclosure-\(position)"
            return BridgeMessageRecord(
                decision: DecisionRecord(
                    messageID: messageID, sourceTopic: "health.ips.outbound", partition: Int32(position % 8),
                    offset: position / 8,
                    ceType: "no.ips.health.referral.v1", outcome: .forward, reasonCode: nil,
                    consentID: "consent-\(position % 997)",
                    consentVersion: 1, bridgeVersion: "bench", decidedAt: now),
                disclosures: [
                    DisclosureRecord(
                        disclosureID: disclosureID, eventID: messageID, ceType: "no.ips.health.referral.v1",
                        direction: "health-to-nav",
                        subjectID: "synthetic-\(position % 997)", recipientRole: "ips-job-specialist",
                        recipientOrganisation: "nav-bench",
                        categories: ["identity-and-contact", "ips-participation"], form: "identified",
                        consentID: "consent-\(position % 997)",
                        consentVersion: 1, purpose: "ips-follow-up", disclosedAt: now, bridgeVersion: "bench")
                ],
                outbox: [
                    OutboxRecord(
                        topic: "nav.ips.inbound", key: Array("pseudonym-\(position % 997)".utf8),
                        headers: [
                            MessageHeader(name: "ce_id", text: messageID),
                            MessageHeader(name: "ce_type", text: "no.ips.health.referral.v1"),
                        ],
                        payload: payload, disclosureID: disclosureID),
                    // The copy's disclosure notice and the message's receipt, as the bridge hands
                    // them over: their payloads are built again when read, so only their topics,
                    // keys and headers are stored, in the copy's row.
                    derivedRecord(
                        topic: "health.ips.disclosures", id: "disclosure:\(disclosureID)",
                        type: "no.ips.bridge.disclosure.v1", key: "synthetic-\(position % 997)",
                        follows: disclosureID, derivation: .notice),
                    derivedRecord(
                        topic: "health.ips.receipts", id: "receipt:\(messageID)", type: "no.ips.bridge.receipt.v1",
                        key: messageID, follows: disclosureID, derivation: .receipt),
                ]
            )
        }
        let offsets = (0..<8).map { partition in
            ConsumerOffset(
                consumerGroup: "bench", topic: "health.ips.outbound", partition: Int32(partition),
                nextOffset: (offset + Int64(size)) / 8 + 1)
        }
        return BridgeBatch(messages: messages, offsets: offsets)
    }

    /// A receipt or notice as the bridge builds it (CloudEvents headers and the copy it follows).
    private static func derivedRecord(
        topic: String, id: String, type: String, key: String, follows: String, derivation: OutboxPayloadDerivation
    ) -> OutboxRecord {
        OutboxRecord(
            topic: topic, key: Array(key.utf8),
            headers: [
                MessageHeader(name: BridgeHeaders.id, text: id), MessageHeader(name: BridgeHeaders.type, text: type),
                MessageHeader(name: BridgeHeaders.source, text: BridgeHeaders.bridgeSource),
                MessageHeader(name: BridgeHeaders.time, text: "2026-12-05T07:00:00.000Z"),
                MessageHeader(name: BridgeHeaders.specVersion, text: "1.0"),
                MessageHeader(name: BridgeHeaders.contentType, text: "application/json"),
                MessageHeader(name: BridgeHeaders.internalFollows, text: follows),
            ],
            payload: Array("{}".utf8), derivation: derivation)
    }

    /// Renders results as an aligned table.
    package static func table(_ results: [Result], engine: SQLEngine) -> String {
        var text = "engine    batch  batches  messages  seconds  messages/s     rows/s\n"
        for result in results {
            text +=
                engine.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                + String(
                    format: " %6d %8d %9d %8.2f %11.0f %10.0f\n",
                    result.batchSize, result.batches, result.messages, result.seconds,
                    result.messagesPerSecond, result.rowsPerSecond)
        }
        return text
    }
}
