import ConsentContracts
import Foundation
import Logging
import SQLKit

/// Applies sink batches: routing is the store's, the transaction and offsets are shared.
enum SinkWriter {
    /// The received-event columns shared by the event tables of both sides.
    static let eventColumns = [
        "ce_id", "ce_type", "ce_source", "ce_time", "subject_key", "payload",
        "source_topic", "partition_id", "source_offset", "received_at",
    ]

    static func eventColumnsDDL(_ engine: SQLEngine) -> String {
        """
        ce_id TEXT PRIMARY KEY,
            ce_type TEXT NOT NULL,
            ce_source TEXT,
            ce_time TEXT,
            subject_key TEXT,
            payload \(engine.bytesType) NOT NULL,
            source_topic TEXT NOT NULL,
            partition_id INTEGER NOT NULL,
            source_offset BIGINT NOT NULL,
            received_at TEXT NOT NULL
        """
    }

    static let sinkRejectionsTable = """
        CREATE TABLE sink_rejections (
            source_topic TEXT NOT NULL,
            partition_id INTEGER NOT NULL,
            source_offset BIGINT NOT NULL,
            ce_id TEXT,
            ce_type TEXT,
            reason_code TEXT NOT NULL,
            rejected_at TEXT NOT NULL,
            PRIMARY KEY (source_topic, partition_id, source_offset))
        """

    /// A disclosure notice as the bridge published it (`DisclosureNotice`, the one wire shape),
    /// validated against the published contract when given; nil when it is not one.
    static func disclosure(from value: [UInt8], schema: JSONSchema?) -> DisclosureRecord? {
        guard let json = try? StrictJSON.parse(value) else { return nil }
        if let schema, !schema.isValid(json) { return nil }
        guard let notice = try? DisclosureNotice(json: json) else { return nil }
        return DisclosureRecord(notice: notice)
    }

    /// The row a sink's `disclosure_log` keeps for `disclosure` (the shared disclosure columns,
    /// the status, and the record's `ce_id`).
    static func disclosureRow(_ disclosure: DisclosureRecord, ceID: String, now: Date) -> SinkRow? {
        guard let values = try? StoreSQL.disclosureValues(disclosure) else { return nil }
        return SinkRow(
            table: "disclosure_log",
            columns: StoreSQL.disclosureColumns + ["status", "withheld_reason", "ce_id", "received_at"],
            values: values + [
                SQLBind(disclosure.status), StoreSQL.bind(disclosure.withheldReason), SQLBind(ceID), StoreSQL.time(now),
            ],
            ceID: ceID
        )
    }

    /// An accepted inbound type's body against the type's published contract.
    enum ContractCheck {
        /// The policy has no contracts to check with (a store opened to read, not to consume).
        case notChecked
        /// Valid: the parsed body, for the checks after this one (parsed once).
        case valid(JSONValue)
        /// Not strict JSON, or not valid against the contract (more, or other, than it lets cross).
        case breach(SinkRoute)
    }

    /// Checks an accepted inbound type's body against the type's published contract.
    static func checkContract(_ value: [UInt8], ceType: String, schemas: [String: JSONSchema]?) -> ContractCheck {
        guard let schemas else { return .notChecked }
        guard let schema = schemas[ceType], let json = try? StrictJSON.parse(value), schema.isValid(json) else {
            return .breach(.quarantine(.contractViolation, rule: "R8"))
        }
        return .valid(json)
    }

    /// A breach notice received on the side's breach topic: filed in `breach_log`.
    static func breachLogRoute(_ record: SinkRecord, schema: JSONSchema?, now: Date) -> SinkRoute {
        guard let value = record.value else { return .reject(.unexpectedTombstone) }
        guard let ceID = record.ceID, let ceType = record.ceType else { return .reject(.missingCloudEventHeaders) }
        guard ceType == BreachNotice.ceType else { return .reject(.unacceptedEventType) }
        guard let row = BreachTables.logRow(record, value: value, ceID: ceID, schema: schema, now: now) else {
            return .reject(.invalidBody)
        }
        return .store(row)
    }

    static func eventRow(table: String, record: SinkRecord, ceID: String, ceType: String, payload: [UInt8], now: Date)
        -> SinkRow
    {
        SinkRow(
            table: table,
            columns: Self.eventColumns,
            values: [
                SQLBind(ceID), SQLBind(ceType), StoreSQL.bind(record.headerText("ce_source")),
                StoreSQL.bind(record.headerText("ce_time")), StoreSQL.bind(record.keyText), StoreSQL.bytes(payload),
                SQLBind(record.topic), SQLBind(Int64(record.partition)), SQLBind(record.offset), StoreSQL.time(now),
            ],
            ceID: ceID
        )
    }

    static func decodeEvent(_ row: any SQLRow) throws -> ReceivedEvent {
        guard let receivedAt = StoreTime.date(from: try row.decode(column: "received_at", as: String.self)) else {
            throw StorageError(.corruptRow, "event row has an unreadable time")
        }
        return ReceivedEvent(
            ceID: try row.decode(column: "ce_id", as: String.self),
            ceType: try row.decode(column: "ce_type", as: String.self),
            ceSource: try row.decode(column: "ce_source", as: String?.self),
            ceTime: try row.decode(column: "ce_time", as: String?.self),
            subjectKey: try row.decode(column: "subject_key", as: String?.self),
            payload: Array(try row.decode(column: "payload", as: Data.self)),
            topic: try row.decode(column: "source_topic", as: String.self),
            partition: Int32(try row.decode(column: "partition_id", as: Int64.self)),
            offset: try row.decode(column: "source_offset", as: Int64.self),
            receivedAt: receivedAt
        )
    }

    /// Applies `batch` in one transaction: stores new records (dedup by `ce_id`), records
    /// refusals, quarantines breaches and queues their notices (R10), and moves the offsets to
    /// just after the batch. Records below the stored offset were applied before and are skipped.
    ///
    /// A breach with no `breaches` reporting configured fails the batch (nothing is stored and
    /// the offsets stay): the sink halts rather than hold the record unsealed or drop it.
    static func apply(
        _ batch: SinkBatch,
        to database: StoreDatabase,
        kind: StoreKind,
        breaches: BreachReporting?,
        logger: Logger,
        route: (SinkRecord, Date) -> SinkRoute
    ) async throws(StorageError) -> SinkBatchResult {
        let now = Date()
        let result = try await database.transaction { sql -> SinkBatchResult in
            var stored: [String: Int64] = [:]
            for offset in try await StoreSQL.offsets(sql, consumerGroup: batch.consumerGroup) {
                stored["\(offset.topic)\u{0}\(offset.partition)"] = offset.nextOffset
            }
            var nextOffsets: [String: ConsumerOffset] = [:]
            var rowsByTable: [String: [SinkRow]] = [:]
            var tableOrder: [String] = []
            var seenKeys = Set<String>()
            var rejections: [SinkRejection] = []
            var quarantined: [QuarantinedRecord] = []
            var alreadyApplied = 0
            var duplicates = 0
            for record in batch.records {
                let partitionKey = "\(record.topic)\u{0}\(record.partition)"
                let next = record.offset + 1
                if next > (nextOffsets[partitionKey]?.nextOffset ?? Int64.min) {
                    nextOffsets[partitionKey] = ConsumerOffset(
                        consumerGroup: batch.consumerGroup, topic: record.topic, partition: record.partition,
                        nextOffset: next)
                }
                if let storedNext = stored[partitionKey], record.offset < storedNext {
                    alreadyApplied += 1
                    continue
                }
                switch route(record, now) {
                case .store(let row):
                    guard seenKeys.insert("\(row.table)\u{0}\(row.ceID)").inserted else {
                        duplicates += 1
                        continue
                    }
                    if rowsByTable[row.table] == nil { tableOrder.append(row.table) }
                    rowsByTable[row.table, default: []].append(row)
                case .reject(let reason):
                    var rejection = SinkRejection(record, reason: reason)
                    // The sender's `ce_type` and `ce_id` are its own text, a fødselsnummer
                    // possible (R16): the row and the log line say a published contract's type as
                    // it is and anything else as `unknown-<digest>`, and an id only when it is a
                    // UUID, as breach notices do (an outside audit found a NAV sender's number in
                    // the NAV sink's log). A store without quarantine keys (tests) has no
                    // digest: `unknown`. The position says which record it was.
                    rejection.ceType = record.ceType.map { breaches?.safeType($0) ?? "unknown" }
                    rejection.ceID = BreachNotice.safeMessageID(record.ceID)
                    rejections.append(rejection)
                case .quarantine(let reason, let rule):
                    guard let breaches else {
                        throw StorageError(
                            .quarantineUnavailable, "\(kind) store must quarantine a record but has no quarantine key")
                    }
                    let record = try breaches.quarantine(record, reason: reason, rule: rule, now: now)
                    quarantined.append(record)
                    // The local rejection row repeats only what the notice may say.
                    rejections.append(
                        SinkRejection(
                            topic: record.notice.source.topic, partition: record.notice.source.partition,
                            offset: record.notice.source.offset, ceID: record.notice.messageID,
                            ceType: record.notice.messageType,
                            reason: reason))
                }
            }
            var storedCount = 0
            var insertedCounts: [String: Int] = [:]
            for table in tableOrder {
                let rows = rowsByTable[table] ?? []
                guard let columns = rows.first?.columns else { continue }
                let inserted = Set(
                    try await StoreSQL.insertIgnoringDuplicates(
                        sql, into: table, columns: columns, rows: rows.map(\.values), returning: "ce_id")
                )
                storedCount += inserted.count
                insertedCounts[table] = inserted.count
                duplicates += rows.count - inserted.count
                for row in rows where inserted.contains(row.ceID) {
                    for followUp in row.followUps {
                        try await sql.insert(into: followUp.table).columns(followUp.columns).values(followUp.values)
                            .ignoringConflicts().run()
                    }
                }
            }
            if !rejections.isEmpty {
                var builder = sql.insert(into: "sink_rejections").columns(
                    "source_topic", "partition_id", "source_offset", "ce_id", "ce_type", "reason_code", "rejected_at")
                for rejection in rejections {
                    builder = builder.values([
                        SQLBind(rejection.topic), SQLBind(Int64(rejection.partition)), SQLBind(rejection.offset),
                        StoreSQL.bind(rejection.ceID), StoreSQL.bind(rejection.ceType), SQLBind(rejection.reason.code),
                        StoreSQL.time(now),
                    ])
                }
                try await builder.ignoringConflicts().run()
            }
            let breachNotices = try await BreachTables.quarantine(
                sql, quarantined, topics: breaches?.noticeTopics ?? [], now: now)
            let offsets = nextOffsets.values.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }
            try await StoreSQL.advanceOffsets(sql, offsets, at: now)
            return SinkBatchResult(
                stored: storedCount, duplicates: duplicates, alreadyApplied: alreadyApplied,
                rejections: rejections, offsets: offsets, breaches: breachNotices,
                breachNoticesReceived: insertedCounts["breach_log"] ?? 0)
        }
        for notice in result.breaches {
            logger.error(
                "sink quarantined a record its side must never hold; breach notice queued for both parties",
                metadata: [
                    "store.kind": "\(kind)", "breach.id": "\(notice.breachID)", "breach.reason": "\(notice.reason)",
                    "breach.rule": "\(notice.rule)", "kafka.topic": "\(notice.source.topic)",
                    "kafka.partition": "\(notice.source.partition)", "kafka.offset": "\(notice.source.offset)",
                    "ce.type": "\(notice.messageType)",
                ])
        }
        for rejection in result.rejections {
            // Reason, type and position only: the key and body may hold personal data.
            logger.warning(
                "sink refused record",
                metadata: [
                    "store.kind": "\(kind)", "sink.reason": "\(rejection.reason)",
                    "kafka.topic": "\(rejection.topic)", "kafka.partition": "\(rejection.partition)",
                    "kafka.offset": "\(rejection.offset)", "ce.type": "\(rejection.ceType ?? "-")",
                ]
            )
        }
        return result
    }

    static func rejections(_ sql: any SQLDatabase) async throws -> [SinkRejection] {
        try await sql.raw("SELECT * FROM sink_rejections ORDER BY source_topic, partition_id, source_offset").all().map
        { row in
            SinkRejection(
                topic: try row.decode(column: "source_topic", as: String.self),
                partition: Int32(try row.decode(column: "partition_id", as: Int64.self)),
                offset: try row.decode(column: "source_offset", as: Int64.self),
                ceID: try row.decode(column: "ce_id", as: String?.self),
                ceType: try row.decode(column: "ce_type", as: String?.self),
                reason: SinkRejection.Reason(storedCode: try row.decode(column: "reason_code", as: String.self))
            )
        }
    }
}
