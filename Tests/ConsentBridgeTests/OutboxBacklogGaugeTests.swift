import ConsentBridge
import ConsentConfiguration
import ConsentStorage
import Foundation
import Logging
import Testing

/// The operators' view of the relay's backlog: rows recorded and not yet published or withheld.
@Suite("Outbox backlog gauge")
struct OutboxBacklogGaugeTests {
    @Test("counts the rows waiting for the relay, falls to zero once they are settled, and is absent until counted")
    func countsWaitingRows() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backlog-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "backlog-test")
        logger.logLevel = .warning
        let store = try await BridgeStore.open(.sqlite(path: directory + "/bridge.sqlite"), logger: logger)
        let metrics = BridgeMetrics()
        #expect(
            !metrics.prometheusText().contains("consent_bridge_outbox_pending_rows"), "no figure before the first count"
        )

        let messages = (0..<3).map { index in
            let id = "backlog-\(index)"
            return BridgeMessageRecord(
                decision: DecisionRecord(
                    messageID: id, sourceTopic: "health.ips.outbound", partition: 0, offset: Int64(index),
                    ceType: "no.ips.health.referral.v1",
                    outcome: .reject, reasonCode: "no-consent", consentID: nil, consentVersion: nil,
                    bridgeVersion: "test", decidedAt: Date()),
                outbox: [
                    OutboxRecord(
                        topic: "health.ips.receipts", key: Array(id.utf8),
                        headers: [MessageHeader(name: "ce_id", text: "receipt:\(id)")],
                        payload: Array("{}".utf8))
                ])
        }
        let recorded = try await store.record(BridgeBatch(messages: messages, offsets: []))

        let gauge = Task {
            try await OutboxBacklogGauge(store: store, metrics: metrics, logger: logger, interval: .milliseconds(20))
                .run()
        }
        #expect(
            await Self.eventually { metrics.prometheusText().contains("\nconsent_bridge_outbox_pending_rows 3.0\n") })
        #expect(metrics.prometheusText().contains("# TYPE consent_bridge_outbox_pending_rows gauge"))
        try await store.markPublished(sequences: recorded.outbox.map(\.sequence))
        #expect(
            await Self.eventually { metrics.prometheusText().contains("\nconsent_bridge_outbox_pending_rows 0.0\n") })
        gauge.cancel()
        try await gauge.value
        await store.close()
    }

    private static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }
}
