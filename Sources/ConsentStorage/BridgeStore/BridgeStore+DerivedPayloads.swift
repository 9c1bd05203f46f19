import ConsentContracts
import Foundation
import SQLKit

extension BridgeStore {
    /// Most ids bound in one `IN` list: a long page (a backlog read at start) binds several
    /// lists instead of one beyond the engines' limits on parameters.
    private static let lookupChunk = 500

    /// Builds the payloads of `rows` read with `derivingPayloads: false` that still have none
    /// (see `pendingOutbox`): the caller may have filled some from what it built itself.
    package func derivePayloads(_ rows: inout [StoredOutboxRow]) async throws(StorageError) {
        guard rows.contains(where: Self.lacksPayload) else { return }
        let read = rows
        rows = try await self.database.read { sql in
            var built = read
            try await Self.derivePayloads(&built, sql)
            return built
        }
    }

    /// A row whose payload the store did not keep and nobody has built yet.
    private static func lacksPayload(_ row: StoredOutboxRow) -> Bool {
        row.record.derivation != nil && row.record.payload.isEmpty
    }

    /// Builds the payloads the store did not keep (`OutboxPayloadDerivation`) for the rows of a
    /// read, from the decision, disclosure and forwarded rows their decision recorded. A row
    /// whose sources are missing or unreadable is a corrupt store: the read fails (the relay
    /// halts and retries) rather than publish a receipt or notice it cannot vouch for.
    static func derivePayloads(_ rows: inout [StoredOutboxRow], _ sql: any SQLDatabase) async throws {
        let derived = rows.indices.compactMap { index in
            lacksPayload(rows[index]) ? rows[index].record.derivation.map { (index: index, kind: $0) } : nil
        }
        if derived.isEmpty { return }
        // Each row reports on the copy (or, for a receipt, the first copy) it follows.
        var copyOfRow: [Int: String] = [:]
        for (index, _) in derived {
            guard let follows = rows[index].record.headerText(BridgeHeaders.internalFollows),
                let first = follows.split(separator: ",", maxSplits: 1).first
            else { throw StorageError(.corruptRow, "derived outbox row names no copy") }
            copyOfRow[index] = String(first)
        }
        let copyIDs = Array(Set(copyOfRow.values)).sorted()
        let noticeCopyIDs = Set(derived.filter { $0.kind != .receipt }.compactMap { copyOfRow[$0.index] })
        let forwards = try await forwardedRows(disclosureIDs: copyIDs, sql)
        let disclosures = try await disclosureRows(disclosureIDs: noticeCopyIDs.sorted(), sql)
        let receiptMessageIDs = Set(derived.filter { $0.kind == .receipt }.map { rows[$0.index].messageID })
        let decisions = try await decisionSources(messageIDs: receiptMessageIDs.sorted(), sql)
        for (index, kind) in derived {
            guard let copyID = copyOfRow[index], let forward = forwards[copyID],
                let contractVersion = forward.headerText(BridgeHeaders.policyVersion)
            else { throw StorageError(.corruptRow, "derived outbox row lacks its forwarded copy") }
            let payload: [UInt8]
            switch kind {
            case .receipt:
                guard let decision = decisions[rows[index].messageID] else {
                    throw StorageError(.corruptRow, "derived receipt lacks its decision")
                }
                payload =
                    DerivedOutboxPayload.receipt(
                        messageID: rows[index].messageID, firstCopyID: copyID, ceType: decision.ceType,
                        decidedAt: decision.decidedAt, contractVersion: contractVersion, source: decision.source
                    ).serializedBytes()
            case .notice, .noticeWithoutConsent:
                guard let (disclosure, disclosedAt) = disclosures[copyID] else {
                    throw StorageError(.corruptRow, "derived disclosure notice lacks its disclosure")
                }
                let body: JSONValue
                do {
                    body = try StrictJSON.parse(forward.payload)
                } catch {
                    throw StorageError(.corruptRow, "a forwarded copy's stored payload is not JSON", cause: error)
                }
                payload =
                    DerivedOutboxPayload.notice(
                        disclosure: disclosure, decidedAt: disclosedAt, destinationTopic: forward.topic,
                        forwardBody: body, contractVersion: contractVersion,
                        namesConsent: kind == .notice
                    ).serializedBytes()
            }
            rows[index].record.payload = payload
        }
    }

    /// What a receipt takes from its decision row (the time as stored text, verbatim).
    private struct DecisionSource {
        var ceType: String?
        var decidedAt: String
        var source: SourcePosition
    }

    /// The outbox rows that carried the copies `disclosureIDs` out, by disclosure id.
    private static func forwardedRows(disclosureIDs: [String], _ sql: any SQLDatabase) async throws
        -> [String: OutboxRecord]
    {
        var found: [String: OutboxRecord] = [:]
        for chunk in chunks(disclosureIDs) {
            for row in try await sql.raw(
                """
                SELECT disclosure_id, topic, headers, payload FROM outbox
                WHERE disclosure_id IN (\(binds(chunk)))
                """
            ).all() {
                let id = try row.decode(column: "disclosure_id", as: String.self)
                found[id] = OutboxRecord(
                    topic: try row.decode(column: "topic", as: String.self), key: nil,
                    headers: try OutboxHeaderCodec.decode(try row.decode(column: "headers", as: String.self)),
                    payload: Array(try row.decode(column: "payload", as: Data.self)), disclosureID: id)
            }
        }
        return found
    }

    /// The disclosure rows `disclosureIDs` by id, each with its time as stored text (verbatim:
    /// a notice says when the bridge decided, in exactly the text it was built with).
    private static func disclosureRows(disclosureIDs: [String], _ sql: any SQLDatabase) async throws
        -> [String: (record: DisclosureRecord, disclosedAt: String)]
    {
        var found: [String: (record: DisclosureRecord, disclosedAt: String)] = [:]
        for chunk in chunks(disclosureIDs) {
            for row in try await sql.raw("SELECT * FROM disclosures WHERE disclosure_id IN (\(binds(chunk)))").all() {
                let record = try StoreSQL.decodeDisclosure(row)
                found[record.disclosureID] = (record, try row.decode(column: "disclosed_at", as: String.self))
            }
        }
        return found
    }

    /// The decision rows of `messageIDs`, by message id.
    private static func decisionSources(messageIDs: [String], _ sql: any SQLDatabase) async throws
        -> [String: DecisionSource]
    {
        var found: [String: DecisionSource] = [:]
        for chunk in chunks(messageIDs) {
            for row in try await sql.raw(
                """
                SELECT message_id, source_topic, partition_id, source_offset, ce_type, decided_at FROM decisions
                WHERE message_id IN (\(binds(chunk)))
                """
            ).all() {
                let partition = try row.decode(column: "partition_id", as: Int64.self)
                guard let partition32 = Int32(exactly: partition) else {
                    throw StorageError(.corruptRow, "decision row has an out-of-range partition")
                }
                found[try row.decode(column: "message_id", as: String.self)] = DecisionSource(
                    ceType: try row.decode(column: "ce_type", as: String?.self),
                    decidedAt: try row.decode(column: "decided_at", as: String.self),
                    source: SourcePosition(
                        topic: try row.decode(column: "source_topic", as: String.self), partition: partition32,
                        offset: try row.decode(column: "source_offset", as: Int64.self)))
            }
        }
        return found
    }

    private static func chunks(_ ids: [String]) -> [ArraySlice<String>] {
        stride(from: 0, to: ids.count, by: lookupChunk).map { ids[$0..<min($0 + lookupChunk, ids.count)] }
    }

    private static func binds(_ ids: ArraySlice<String>) -> SQLQueryString {
        ids.map { id -> SQLQueryString in "\(bind: id)" }.joined(separator: ", ")
    }
}
