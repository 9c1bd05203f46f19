import ConsentStorage
import Foundation
import Testing

@testable import ConsentBridge

/// R5: a notice or receipt whose copy was withheld must say so, also when the copy was decided
/// on an earlier page of the outbox. The relay asks the store about exactly the copies its page
/// does not hold; those it does hold it decides itself as their rows come.
@Suite struct RelayFollowedCopiesTests {
    private func row(
        _ sequence: Int64, copy: String? = nil, follows: [String] = [], topic: String = "t", id: String? = nil
    ) -> StoredOutboxRow {
        var headers = [MessageHeader(name: BridgeHeaders.id, text: id ?? "id-\(sequence)")]
        if !follows.isEmpty {
            headers.append(MessageHeader(name: BridgeHeaders.internalFollows, text: follows.joined(separator: ",")))
        }
        let record = OutboxRecord(topic: topic, key: nil, headers: headers, payload: [], disclosureID: copy)
        return StoredOutboxRow(sequence: sequence, messageID: "m", record: record, createdAt: Date())
    }

    private func earlier(_ rows: [StoredOutboxRow]) -> [String] {
        let headers = rows.map { OutboxRelay.RelayedHeaders($0.record.headers) }
        let copies = rows.indices.map {
            OutboxRelay.copyID(of: rows[$0].record, headers[$0], destinations: ["nav.followup.inbound"])
        }
        return OutboxRelay.copiesBeforePage(copies, headers).sorted()
    }

    @Test func R5_copiesOnThePageAreNotAskedFor() {
        #expect(earlier([row(1, copy: "a"), row(2, follows: ["a"]), row(3, follows: ["a"])]).isEmpty)
        // A receipt after both copies of its message (each with its notice).
        let twoCopies = [
            row(1, copy: "a"), row(2, follows: ["a"]), row(3, copy: "b"), row(4, follows: ["b"]),
            row(5, follows: ["a", "b"]),
        ]
        #expect(earlier(twoCopies).isEmpty)
        // Far from its copy, further back than the rows looked at first.
        let far = [row(1, copy: "a")] + (2...20).map { row($0) } + [row(21, follows: ["a"])]
        #expect(earlier(far).isEmpty)
    }

    @Test func R5_copiesFromEarlierPagesAreAskedForOnce() {
        #expect(earlier([row(7, follows: ["x"])]) == ["x"])
        #expect(earlier([row(7, follows: ["x"]), row(8, follows: ["x", "y"]), row(9, copy: "z")]) == ["x", "y"])
        // A copy after its follower is on the page all the same.
        #expect(earlier([row(7, follows: ["z"]), row(9, copy: "z")]).isEmpty)
        #expect(earlier([row(1, copy: "a"), row(2, follows: ["a", "x"])]) == ["x"])
    }

    /// An anonymous copy's row names no disclosure (R2: no consent re-check), but it is a copy:
    /// on a recipient's inbound topic, reporting on nothing, known by its `ce_id`.
    @Test func R4_anonymousCopiesAreKnownByTheirID() {
        let anonymous = row(1, topic: "nav.followup.inbound", id: "a")
        #expect(earlier([anonymous, row(2, follows: ["a"]), row(3, follows: ["a"])]).isEmpty)
        #expect(earlier([row(2, follows: ["a"])]) == ["a"])
        // Not copies: a row on another topic, and one on an inbound topic that reports on copies.
        #expect(earlier([row(1, id: "a"), row(2, follows: ["a"])]) == ["a"])
        #expect(
            earlier([row(1, follows: ["b"], topic: "nav.followup.inbound", id: "a"), row(2, follows: ["a"])])
                == ["a", "b"])
    }
}
