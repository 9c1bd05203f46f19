import Foundation
import SQLKit

extension BridgeStore {
    /// The offsets group under which the relay records how far it has published into each
    /// destination partition (next offset after the last record it knows it wrote).
    package static let relayPublishedGroup = "relay-published"

    /// Marks rows published and, in the same transaction, moves the relay's published
    /// positions forward (`positions`: next offset per destination partition, from the
    /// delivery reports). After a crash, anything published but not yet marked lies at or
    /// after these positions, so the relay can find it by reading back instead of sending it
    /// again (no duplicates in the destination topics).
    ///
    /// For the same reason a mark need not be on disk when it returns (`.deferred`): a mark lost
    /// to a power cut is a mark not yet made, and the relay recovers from that already. Half of
    /// the bridge's commits are marks; not syncing them saves a sync each.
    package func markPublished(sequences: [Int64], positions: [ConsumerOffset]) async throws(StorageError) {
        guard !sequences.isEmpty || !positions.isEmpty else { return }
        let now = Date()
        try await self.database.transaction(durability: .deferred) { sql in
            try await self.settlePublished(sql, sequences, at: now)
            try await StoreSQL.advanceOffsets(sql, positions, at: now)
        }
    }

    static let outboxDoneColumns = ["seq", "status", "status_at", "status_reason"]

    /// PostgreSQL advisory lock keys (fixed; the ASCII bytes of "outbox" and "relay").
    static let outboxWriteLock: Int64 = 0x6F_7574_626F_78
    static let relayLease: Int64 = 0x72_656C_6179

    /// Whether several bridge instances may share this store (PostgreSQL): one relay publishes
    /// at a time (`takeRelayLease`), and it reads what to publish from the store.
    package var isShared: Bool { self.database.engine == .postgres }

    /// Takes the relay lease if no other instance holds it: true when this store's connection
    /// holds it (then until the connection closes, so a killed instance's lease passes on).
    /// Always true on SQLite (one process per store). Call until it is true, not after.
    package func takeRelayLease() async throws(StorageError) -> Bool {
        guard isShared else { return true }
        return try await self.database.read { sql in
            try await sql.raw("SELECT pg_try_advisory_lock(\(unsafeRaw: String(Self.relayLease))) AS held").first()?
                .decode(column: "held", as: Bool.self) ?? false
        }
    }

    /// The condition that outbox record `o` (a row of `outbox_records`) is pending: above the
    /// settled mark and without an `outbox_done` row (the one definition the relay's reads, the
    /// backlog count and marking share; the view `outbox_status` spells out the same rule). The
    /// bound on the row's number lets both engines find pending records through the outbox's
    /// primary key (a record's number is computed, and has no index).
    static let isPendingOutboxRecord = """
        o.row_seq > (SELECT settled_through FROM outbox_progress WHERE id = 1) - \(followersPerRow)
        AND o.seq > (SELECT settled_through FROM outbox_progress WHERE id = 1)
        AND NOT EXISTS (SELECT 1 FROM outbox_done d WHERE d.seq = o.seq)
        """

    /// Every outbox row at or below this sequence is settled: published, unless `outbox_done`
    /// says otherwise. Rows above it are pending unless `outbox_done` has them.
    static func settledThrough(_ sql: any SQLDatabase) async throws -> Int64 {
        guard let row = try await sql.raw("SELECT settled_through FROM outbox_progress WHERE id = 1").first() else {
            throw StorageError(.corruptRow, "the outbox progress row is missing")
        }
        return try row.decode(column: "settled_through", as: Int64.self)
    }

    /// Settles pending rows among `sequences` as published.
    ///
    /// The relay settles rows in the order it published them, so normally they continue the
    /// unbroken run of settled rows and only the mark moves (no row per outbox row). Rows the
    /// mark cannot reach yet, because a row below them is still pending (a failed delivery, a
    /// row handed over late, a recovery that found only some), get an `outbox_done` row of
    /// their own; the mark passes over them later. Settled rows are never settled again.
    func settlePublished(_ sql: any SQLDatabase, _ sequences: [Int64], at time: Date) async throws {
        let through = try await Self.settledThrough(sql)
        let candidates = Set(sequences.filter { $0 > through })
        guard let highest = candidates.max() else { return }
        // Usually the rows settled now are the whole run just above the mark (the relay
        // publishes in order): then the mark moves to the highest, and no row needs reading.
        if candidates.count == highest - through {
            try await sql.raw("UPDATE outbox_progress SET settled_through = \(bind: highest) WHERE id = 1").run()
            try await self.eraseSettledRows(sql)
            try await Self.eraseHandedOverContent(
                sql, settledThrough: highest, before: through, engine: self.database.engine)
            return
        }
        // The records still pending between the mark and the highest record settled now.
        let pending = try await sql.raw(
            """
            SELECT o.seq FROM outbox_records o
            WHERE \(unsafeRaw: Self.isPendingOutboxRecord) AND o.seq <= \(bind: highest) AND o.row_seq <= \(bind: highest)
            ORDER BY o.row_seq, o.record_index
            """
        ).all().map { try $0.decode(column: "seq", as: Int64.self) }
        // The mark moves to just below the first row that stays pending.
        let mark = pending.first { !candidates.contains($0) }.map { $0 - 1 } ?? highest
        if mark > through {
            try await sql.raw("UPDATE outbox_progress SET settled_through = \(bind: mark) WHERE id = 1").run()
        }
        let aboveMark = pending.filter { $0 > mark && candidates.contains($0) }
        _ = try await self.database.bulkInsert(
            sql, into: "outbox_done", columns: Self.outboxDoneColumns,
            rows: aboveMark.map { [.integer($0), .text("published"), .time(time), .null] }, ignoringConflicts: true)
        try await self.eraseSettledRows(sql)
        if mark > through {
            try await Self.eraseHandedOverContent(
                sql, settledThrough: mark, before: through, engine: self.database.engine)
        }
    }

    /// Moves the settled-through mark over the records just above it that `outbox_done` settles
    /// (withheld, refused, or published out of order), and erases the content that settles:
    /// what `settlePublished` does as part of settling, for records settled without publishing.
    /// Without it a withheld or refused record would wait for the next published one to move
    /// the mark (and its row's content with it) past it.
    func advanceMarkOverSettled(_ sql: any SQLDatabase) async throws {
        let through = try await Self.settledThrough(sql)
        let firstPending = try await sql.raw(
            """
            SELECT o.seq FROM outbox_records o WHERE \(unsafeRaw: Self.isPendingOutboxRecord)
            ORDER BY o.row_seq, o.record_index LIMIT 1
            """
        ).first()?.decode(column: "seq", as: Int64.self)
        // Every record between the mark and the first pending one is settled, so its number is in
        // `outbox_done`; without a pending record, every record above the mark is.
        let below: SQLQueryString = firstPending.map { "AND seq < \(bind: $0)" } ?? ""
        guard
            let mark = try await sql.raw(
                "SELECT MAX(seq) AS highest FROM outbox_done WHERE seq > \(bind: through) \(below)"
            ).first()?.decode(column: "highest", as: Int64?.self), mark > through
        else { return }
        try await sql.raw("UPDATE outbox_progress SET settled_through = \(bind: mark) WHERE id = 1").run()
        try await Self.eraseHandedOverContent(sql, settledThrough: mark, before: through, engine: self.database.engine)
    }

    /// Where the relay's re-check headers start in a stored identified copy's headers: the
    /// first of them, the person (`cb-internal-subject`).
    package static let internalHeadersMarker = OutboxHeaderCodec.storedNameMarker(BridgeHeaders.internalSubject)!

    /// How many outbox sequence numbers one settling transaction erases the content of beyond
    /// those it settles itself: rows a store upgraded to migration 12 kept from before are
    /// worked through in bounded steps rather than in one long transaction.
    package static let contentErasureStep: Int64 = 6_000

    /// Erases the payload and the keys of every outbox row whose records are all settled (at or
    /// below the settled-through mark `settledThrough`): the copy has been handed over (or
    /// withheld, or refused by the broker), and its content belongs in the receiving side's
    /// store, not in the bridge's (R9). Nothing reads a settled row's content again: the relay,
    /// recovery and the derived receipts and notices read pending rows (a receipt reads its
    /// first copy's headers only), and operators see counts and metadata. What stays is what
    /// the bridge answers for: decisions, disclosures, withholdings, each row's topic, headers
    /// and status. The rows are erased in sequence order from `content_erased_through` (every
    /// row at or below it is erased): as many numbers as the mark moved (from `before`), and
    /// `contentErasureStep` more while older rows wait; on SQLite with `secure_delete`, so the
    /// bytes are overwritten, not just unlinked.
    ///
    /// Rows written before migration 9 could carry a disclosure notice in a row of its own,
    /// built from its copy's payload when relayed: erasing starts once the mark has passed the
    /// last of those (`content_erasure_after`).
    static func eraseHandedOverContent(
        _ sql: any SQLDatabase, settledThrough mark: Int64, before: Int64, engine: SQLEngine
    ) async throws {
        guard
            let progress = try await sql.raw(
                "SELECT content_erased_through, content_erasure_after FROM outbox_progress WHERE id = 1"
            ).first()
        else { throw StorageError(.corruptRow, "the outbox progress row is missing") }
        let erasedThrough = try progress.decode(column: "content_erased_through", as: Int64.self)
        guard mark >= (try progress.decode(column: "content_erasure_after", as: Int64.self)) else { return }
        let upTo = min(mark, erasedThrough + contentErasureStep + max(0, mark - before))
        guard upTo > erasedThrough else { return }
        // A row numbered within `followersPerRow` below the mark may still have records above
        // it: such a row waits, and is looked at again (the content test skips it if erased).
        // An identified copy's headers end with the relay's re-check headers (the person, the
        // consent's categories, the direction: `BridgeRecordBuilder`); they are cut off from the
        // first of them on, so the row no longer says whom the copy was about (the disclosure
        // log does, R4). What stays before them (ids, type, time, contract version) is all that
        // is read of a settled row: a pending receipt takes its first copy's contract version.
        let position = engine.positionFunction
        let reCheck = internalHeadersMarker
        try await sql.raw(
            """
            UPDATE outbox
            SET payload = \(unsafeRaw: engine.emptyBytes), kafka_key = NULL, follower1_key = NULL, follower2_key = NULL,
                headers = CASE WHEN \(unsafeRaw: position)(headers, \(bind: reCheck)) > 0
                    THEN substr(headers, 1, \(unsafeRaw: position)(headers, \(bind: reCheck))) ELSE headers END
            WHERE seq > \(bind: erasedThrough) AND seq <= \(bind: upTo) AND seq + records - 1 <= \(bind: mark)
              AND (length(payload) > 0 OR kafka_key IS NOT NULL OR follower1_key IS NOT NULL OR follower2_key IS NOT NULL
                   OR \(unsafeRaw: position)(headers, \(bind: reCheck)) > 0)
            """
        ).run()
        let erased = max(erasedThrough, min(upTo, mark - Int64(followersPerRow)))
        if erased > erasedThrough {
            try await sql.raw("UPDATE outbox_progress SET content_erased_through = \(bind: erased) WHERE id = 1").run()
        }
    }

    /// Erases key and payload of the settled rows marked `erase_when_settled` (the two rows that
    /// tie an anonymous forward's case reference to the person: the sending side's notice, and
    /// the copy, whose stored headers name the person for the relay's re-check; see
    /// `OutboxRecord`), and cuts the relay's re-check headers off their stored headers as
    /// `eraseHandedOverContent` does. Runs in the transaction that settles rows, so the link
    /// never outlives its hand-over, even while a row below keeps the settled mark from
    /// passing; the partial index keeps it to the few marked rows.
    func eraseSettledRows(_ sql: any SQLDatabase) async throws {
        try await sql.raw(SQLQueryString(Self.eraseSettledRowsStatement(self.database.engine))).run()
    }

    /// The statement of `eraseSettledRows`; `cuttingReCheckHeaders: false`: as the upgrade to
    /// migration 6 runs it (before any anonymous copy's row named its person).
    static func eraseSettledRowsStatement(_ engine: SQLEngine, cuttingReCheckHeaders: Bool = true) -> String {
        let position = "\(engine.positionFunction)(headers, '\(internalHeadersMarker)')"
        let headers =
            cuttingReCheckHeaders
            ? ", headers = CASE WHEN \(position) > 0 THEN substr(headers, 1, \(position)) ELSE headers END" : ""
        return """
            UPDATE outbox SET payload = \(engine.emptyBytes), kafka_key = NULL, erase_when_settled = 0\(headers)
            WHERE erase_when_settled = 1
              AND (seq <= (SELECT settled_through FROM outbox_progress WHERE id = 1)
                   OR EXISTS (SELECT 1 FROM outbox_done d WHERE d.seq = outbox.seq))
            """
    }
}
