import ConsentBridge
import ConsentStorage
import Foundation
import Testing

/// The in-memory path from the pipelines to the relay; the store stays the source of truth.
@Suite("Outbox handoff")
struct OutboxHandoffTests {
    private func rows(_ sequences: [Int64]) -> [StoredOutboxRow] {
        sequences.map {
            StoredOutboxRow(
                sequence: $0, messageID: "m\($0)",
                record: OutboxRecord(
                    topic: "nav.followup.inbound", key: nil, headers: [], payload: [UInt8(truncatingIfNeeded: $0)]),
                createdAt: Date(timeIntervalSince1970: 0))
        }
    }

    @Test("Rows handed by two pipelines come out once, in sequence order")
    func handedRowsComeOutInOrderOnce() {
        let handoff = OutboxHandoff(capacity: 100)
        handoff.hand(rows([4, 5, 6]))
        handoff.hand(rows([1, 2, 3]))
        guard case .rows(let taken) = handoff.take() else {
            Issue.record("expected rows")
            return
        }
        #expect(taken.map(\.sequence) == [1, 2, 3, 4, 5, 6])
        guard case .rows(let again) = handoff.take() else {
            Issue.record("expected rows")
            return
        }
        #expect(again.isEmpty)
    }

    @Test("When the relay falls behind, rows are dropped and it is told to read the store")
    func overflowSendsTheRelayToTheStore() {
        let handoff = OutboxHandoff(capacity: 5)
        handoff.hand(rows([1, 2, 3]))
        handoff.hand(rows([4, 5, 6]))
        handoff.hand(rows([7]))
        guard case .overflowed = handoff.take() else {
            Issue.record("expected the overflow to be reported")
            return
        }
        // After reporting it, the handoff starts afresh.
        handoff.hand(rows([8]))
        guard case .rows(let taken) = handoff.take() else {
            Issue.record("expected rows")
            return
        }
        #expect(taken.map(\.sequence) == [8])
    }

    @Test("Handing rows wakes a waiting relay at once")
    func handingWakesTheRelay() async {
        let handoff = OutboxHandoff()
        let waiter = Task { await handoff.signal.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(50))
        handoff.hand(rows([1]))
        #expect(await waiter.value == true, "the wait should end by the notification, not the timeout")
    }
}
