import Foundation
import SQLKit

/// SQL shared by the three stores, written once over SQLKit for both engines.
enum StoreSQL {
    /// Rows per multi-row INSERT: keeps bound parameters well under SQLite's and PostgreSQL's limits.
    static let rowsPerStatement = 400

    static func bind(_ value: (any Encodable & Sendable)?) -> any SQLExpression {
        guard let value else { return SQLLiteral.null }
        return SQLBind(value)
    }

    static func bytes(_ value: [UInt8]?) -> any SQLExpression {
        guard let value else { return SQLLiteral.null }
        return SQLBind(Data(value))
    }

    static func time(_ date: Date) -> any SQLExpression {
        SQLBind(StoreTime.string(from: date))
    }

    /// Inserts rows, skipping rows that conflict with a unique key; returns the values of
    /// `returning` for the rows actually inserted.
    static func insertIgnoringDuplicates(
        _ sql: any SQLDatabase,
        into table: String,
        columns: [String],
        rows: [[any SQLExpression]],
        returning: String
    ) async throws -> [String] {
        var inserted: [String] = []
        for chunk in rows.chunked(by: Self.rowsPerStatement) {
            var builder = sql.insert(into: table).columns(columns)
            for row in chunk { builder = builder.values(row) }
            let returned = try await builder.ignoringConflicts().returning(SQLColumn(returning)).all()
            for row in returned {
                inserted.append(try row.decode(column: returning, as: String.self))
            }
        }
        return inserted
    }

    /// Inserts rows that must all be new (a conflict is an error: it rolls the batch back).
    static func insert(_ sql: any SQLDatabase, into table: String, columns: [String], rows: [[any SQLExpression]])
        async throws
    {
        for chunk in rows.chunked(by: Self.rowsPerStatement) {
            var builder = sql.insert(into: table).columns(columns)
            for row in chunk { builder = builder.values(row) }
            try await builder.run()
        }
    }

    /// Moves offsets forward only: a stale or replayed batch never moves a partition back.
    ///
    /// One multi-row upsert per call (one round trip however many partitions a batch touched).
    static func advanceOffsets(_ sql: any SQLDatabase, _ offsets: [ConsumerOffset], at now: Date) async throws {
        guard !offsets.isEmpty else { return }
        // Highest offset per partition: one statement may not update the same row twice.
        var highest: [String: ConsumerOffset] = [:]
        var order: [String] = []
        for offset in offsets {
            guard offset.nextOffset >= 0 else {
                throw StorageError(.invalidBatch, "negative consumer offset for topic \(offset.topic)")
            }
            let key = "\(offset.consumerGroup)\u{0}\(offset.topic)\u{0}\(offset.partition)"
            if let existing = highest[key] {
                if offset.nextOffset > existing.nextOffset { highest[key] = offset }
            } else {
                highest[key] = offset
                order.append(key)
            }
        }
        let stamp = StoreTime.string(from: now)
        var builder = sql.insert(into: "consumer_offsets")
            .columns("consumer_group", "topic", "partition_id", "next_offset", "updated_at")
        for key in order {
            guard let offset = highest[key] else { continue }
            builder = builder.values([
                SQLBind(offset.consumerGroup), SQLBind(offset.topic), SQLBind(Int64(offset.partition)),
                SQLBind(offset.nextOffset), SQLBind(stamp),
            ])
        }
        try await builder.onConflict(with: ["consumer_group", "topic", "partition_id"]) { update in
            update.set(excludedValueOf: "next_offset")
                .set(excludedValueOf: "updated_at")
                .where(
                    SQLColumn("next_offset", table: "excluded"), .greaterThan,
                    SQLColumn("next_offset", table: "consumer_offsets"))
        }.run()
    }

    static func offsets(_ sql: any SQLDatabase, consumerGroup: String) async throws -> [ConsumerOffset] {
        let rows = try await sql.raw(
            """
            SELECT topic, partition_id, next_offset FROM consumer_offsets
            WHERE consumer_group = \(bind: consumerGroup) ORDER BY topic, partition_id
            """
        ).all()
        return try rows.map { row in
            ConsumerOffset(
                consumerGroup: consumerGroup,
                topic: try row.decode(column: "topic", as: String.self),
                partition: Int32(try row.decode(column: "partition_id", as: Int64.self)),
                nextOffset: try row.decode(column: "next_offset", as: Int64.self)
            )
        }
    }

    // MARK: Disclosures (same columns in every store that keeps them)

    static let disclosureColumns = [
        "disclosure_id", "event_id", "ce_type", "direction", "subject_id", "recipient_role",
        "recipient_organisation", "categories", "form", "consent_id", "consent_version", "purpose",
        "case_reference", "disclosed_at", "bridge_version",
    ]

    static func disclosureValues(_ record: DisclosureRecord) throws -> [any SQLExpression] {
        try disclosureStoreValues(record).map(\.sqlExpression)
    }

    static func disclosureStoreValues(_ record: DisclosureRecord) throws -> [StoreValue] {
        [
            .text(record.disclosureID), .text(record.eventID), .text(record.ceType), .text(record.direction),
            .text(record.subjectID), .text(record.recipientRole), .text(record.recipientOrganisation),
            .text(try Self.encodeList(record.categories)), .text(record.form), .text(record.consentID),
            .integer(record.consentVersion), .text(record.purpose), .text(record.caseReference),
            .time(record.disclosedAt), .text(record.bridgeVersion),
        ]
    }

    /// Columns of the disclosure table DDL (the table name and extra columns are the store's).
    static let disclosureColumnsDDL = """
        disclosure_id TEXT PRIMARY KEY,
            event_id TEXT NOT NULL,
            ce_type TEXT NOT NULL,
            direction TEXT NOT NULL,
            subject_id TEXT NOT NULL,
            recipient_role TEXT NOT NULL,
            recipient_organisation TEXT NOT NULL,
            categories TEXT NOT NULL,
            form TEXT NOT NULL CHECK (form IN ('identified', 'anonymous')),
            consent_id TEXT,
            consent_version BIGINT,
            purpose TEXT NOT NULL,
            case_reference TEXT,
            disclosed_at TEXT NOT NULL,
            bridge_version TEXT NOT NULL
        """

    static func decodeDisclosure(_ row: any SQLRow) throws -> DisclosureRecord {
        let disclosedText = try row.decode(column: "disclosed_at", as: String.self)
        guard let disclosedAt = StoreTime.date(from: disclosedText) else {
            throw StorageError(.corruptRow, "disclosure row has an unreadable time")
        }
        var record = DisclosureRecord(
            disclosureID: try row.decode(column: "disclosure_id", as: String.self),
            eventID: try row.decode(column: "event_id", as: String.self),
            ceType: try row.decode(column: "ce_type", as: String.self),
            direction: try row.decode(column: "direction", as: String.self),
            subjectID: try row.decode(column: "subject_id", as: String.self),
            recipientRole: try row.decode(column: "recipient_role", as: String.self),
            recipientOrganisation: try row.decode(column: "recipient_organisation", as: String.self),
            categories: try Self.decodeList(try row.decode(column: "categories", as: String.self)),
            form: try row.decode(column: "form", as: String.self),
            consentID: try row.decode(column: "consent_id", as: String?.self),
            consentVersion: try row.decode(column: "consent_version", as: Int64?.self),
            purpose: try row.decode(column: "purpose", as: String.self),
            caseReference: try row.decode(column: "case_reference", as: String?.self),
            disclosedAt: disclosedAt,
            bridgeVersion: try row.decode(column: "bridge_version", as: String.self)
        )
        // The sinks' logs keep the status beside the shared columns; the bridge store keeps
        // withholdings in a table of their own.
        if row.contains(column: "status") {
            record.status = try row.decode(column: "status", as: String.self)
            record.withheldReason = try row.decode(column: "withheld_reason", as: String?.self)
        }
        return record
    }

    /// A JSON array of strings (read back by `decodeList`). Written by hand because it runs
    /// for every disclosure row of the hot path.
    static func encodeList(_ values: [String]) throws -> String {
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                    bytes.append(UInt8(ascii: "\\"))
                    bytes.append(byte)
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: Array("\\u00".utf8))
                    bytes.append(hex[Int(byte >> 4)])
                    bytes.append(hex[Int(byte & 0xF)])
                default:
                    bytes.append(byte)
                }
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeList(_ text: String) throws -> [String] {
        do {
            return try JSONDecoder().decode([String].self, from: Data(text.utf8))
        } catch {
            throw StorageError(.corruptRow, "stored list is not a JSON array of strings", cause: error)
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: self.count, by: size).map { self[$0..<Swift.min($0 + size, self.count)] }
    }
}
