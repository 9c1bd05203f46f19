import CSQLite

/// A failed SQLite call. The message comes from `sqlite3_errmsg`: it may quote SQL text but
/// never bound values; `StorageError` prints only this type's name, never the message.
struct SQLiteFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "SQLite error \(self.code): \(self.message)" }
}

/// One connection to a SQLite file through the system's libsqlite3, with its prepared
/// statements kept for reuse.
///
/// The stores run every transaction on this handle synchronously, on the store's own thread
/// (`ExecutorThread`): no thread hop per statement, and the hot path's INSERTs are prepared
/// once and stepped per row instead of being parsed again for every batch.
///
/// One SQLite library in the process: SQLite's POSIX locks are per process and per library
/// copy, so two copies opening the same file can release each other's locks. Every store file
/// is opened here (sqlite-nio is not linked).
///
/// Not thread-safe by itself: `StoreDatabase` serializes all use through its gate.
final class SQLiteHandle: @unchecked Sendable {
    private var connection: OpaquePointer?
    private var statements: [String: SQLitePreparedStatement] = [:]
    /// Prepared statements kept at most; the cache is emptied when full (SQL built with
    /// varying row counts would otherwise grow it without bound).
    private static let cacheLimit = 64

    private init(connection: OpaquePointer) {
        self.connection = connection
    }

    /// Process-wide settings, applied once before SQLite initializes.
    private static let configureLibrary: Void = {
        _ = consent_sqlite3_disable_memory_statistics()
    }()

    /// Opens (creating if needed) the database file at `path`.
    static func open(path: String) throws -> SQLiteHandle {
        Self.configureLibrary
        var connection: OpaquePointer?
        // NOMUTEX: the store's gate already guarantees one user at a time.
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &connection, flags, nil)
        guard status == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(connection)
            throw SQLiteFailure(code: status, message: message)
        }
        sqlite3_extended_result_codes(connection, 1)
        return SQLiteHandle(connection: connection)
    }

    /// Finalizes the prepared statements and closes the connection (idempotent).
    func close() {
        for statement in self.statements.values { statement.finalize() }
        self.statements = [:]
        if let connection = self.connection {
            sqlite3_close_v2(connection)
            self.connection = nil
        }
    }

    deinit { self.close() }

    /// Runs one statement with `binds` and returns its result rows.
    func query(_ sql: String, _ binds: [StoreValue] = []) throws -> SQLiteRows {
        let statement = try self.prepared(sql)
        try statement.start(binds)
        var rows: [[StoreValue]] = []
        while try statement.step() { rows.append(statement.row()) }
        let columns = statement.columnNames
        statement.release()
        return SQLiteRows(columns: columns, values: rows)
    }

    /// The prepared statement for `sql`, from the cache or newly prepared. One statement per
    /// call: SQL with a second statement after the first is refused, not silently cut.
    func prepared(_ sql: String) throws -> SQLitePreparedStatement {
        if let cached = self.statements[sql] { return cached }
        guard let connection = self.connection else {
            throw SQLiteFailure(code: SQLITE_MISUSE, message: "connection is closed")
        }
        var raw: OpaquePointer?
        var tail: UnsafePointer<CChar>?
        let status = sql.withCString { text in
            let status = sqlite3_prepare_v3(connection, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, &tail)
            if status == SQLITE_OK, let tail, !String(cString: tail).allSatisfy(\.isWhitespace) {
                return SQLITE_MISUSE
            }
            return status
        }
        guard status == SQLITE_OK, let raw else {
            let message =
                status == SQLITE_MISUSE && raw != nil
                ? "more than one statement in one call" : String(cString: sqlite3_errmsg(connection))
            sqlite3_finalize(raw)
            throw SQLiteFailure(code: status, message: message)
        }
        let statement = SQLitePreparedStatement(raw: raw, connection: connection)
        if self.statements.count >= Self.cacheLimit {
            for cached in self.statements.values { cached.finalize() }
            self.statements.removeAll(keepingCapacity: true)
        }
        self.statements[sql] = statement
        return statement
    }
}

/// Result rows of one statement, values in column order.
struct SQLiteRows {
    var columns: [String]
    var values: [[StoreValue]]
}

/// A prepared statement owned by a `SQLiteHandle` (reset before each use, never shared).
final class SQLitePreparedStatement {
    private var raw: OpaquePointer?
    private let connection: OpaquePointer
    /// The bound text and blobs of the current run, one after the other. They are bound
    /// `SQLITE_STATIC` (SQLite reads them in place) and stay untouched until the next `start`,
    /// `release` or `finalize`. With `SQLITE_TRANSIENT` SQLite allocated a copy of every value
    /// bound, and Debian's SQLite has no lookaside allocator: a malloc and a free per value,
    /// about forty per event the bridge records.
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity: Int
    /// Capacity kept between runs; a larger scratch (a big payload) is given back on `release`.
    private static let keptScratchCapacity = 64 * 1024

    init(raw: OpaquePointer, connection: OpaquePointer) {
        self.raw = raw
        self.connection = connection
        self.scratchCapacity = 256
        self.scratch = .allocate(byteCount: self.scratchCapacity, alignment: 8)
    }

    deinit {
        // Bindings point into the scratch: the statement goes first.
        self.finalize()
        self.scratch.deallocate()
    }

    func finalize() {
        sqlite3_finalize(self.raw)
        self.raw = nil
    }

    /// Readies the statement for a new run with `values` bound to its parameters in order
    /// (the previous run's error, if any, was reported then); `first`, when given, is bound to
    /// the first parameter in place of `values[0]`.
    func start(_ values: [StoreValue], first: StoreValue? = nil) throws {
        guard let raw else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "statement was finalized") }
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        // The values are read where they lie (a borrowed buffer): taking each out of the array,
        // twice (sizing, then binding), retained its text or bytes, ~40 values per event on the
        // store's thread, which every batch waits on (the retains were ~1.3% of the bridge's
        // samples, the first write to memory the deciding thread had written).
        try values.withUnsafeBufferPointer { values in
            guard !values.isEmpty else { return }
            // Room for every value first: the scratch must not move once a value is bound into it.
            var needed = first.map { Self.byteCount($0) } ?? Self.byteCount(values[0])
            for index in values.indices.dropFirst() { needed += Self.byteCount(values[index]) }
            if needed > self.scratchCapacity { self.resizeScratch(to: max(needed, self.scratchCapacity * 2)) }
            var offset = 0
            if let first {
                try self.bind(first, at: 1, offset: &offset)
            } else {
                try self.bind(values[0], at: 1, offset: &offset)
            }
            for index in values.indices.dropFirst() { try self.bind(values[index], at: index + 1, offset: &offset) }
        }
    }

    /// The bytes `value` takes in the scratch.
    @inline(__always)
    private static func byteCount(_ value: borrowing StoreValue) -> Int {
        switch value {
        case .text(let text): text.utf8.count
        case .bytes(let bytes): bytes.count
        case .null, .integer, .real: 0
        }
    }

    /// Ends a run early and drops the bindings, so big payloads are not held between batches.
    func release() {
        sqlite3_reset(self.raw)
        sqlite3_clear_bindings(self.raw)
        if self.scratchCapacity > Self.keptScratchCapacity { self.resizeScratch(to: Self.keptScratchCapacity) }
    }

    /// Replaces the scratch (only while nothing is bound into it).
    private func resizeScratch(to capacity: Int) {
        self.scratch.deallocate()
        self.scratchCapacity = capacity
        self.scratch = .allocate(byteCount: capacity, alignment: 8)
    }

    /// Binds `value` at parameter `index`, text and blobs from the scratch at `offset`
    /// (which it moves past them). `start` made room for every value. Inlined into `start`: as
    /// a call, each value was copied (its text or bytes retained) to be passed.
    @inline(__always)
    private func bind(_ value: borrowing StoreValue, at index: Int, offset: inout Int) throws {
        let position = Int32(index)
        let status: Int32
        switch value {
        case .null:
            status = sqlite3_bind_null(self.raw, position)
        case .integer(let integer):
            status = sqlite3_bind_int64(self.raw, position, integer)
        case .real(let real):
            status = sqlite3_bind_double(self.raw, position, real)
        case .text(let text):
            // An empty string still binds a non-null pointer (NULL would bind SQL NULL).
            let start = self.scratch + offset
            let count = text.utf8.count
            // In place (no copy of the string to make it contiguous), unless it is not UTF-8.
            let copied: Void? = text.utf8.withContiguousStorageIfAvailable { utf8 in
                if let base = utf8.baseAddress { start.copyMemory(from: base, byteCount: count) }
            }
            if copied == nil {
                var text = copy text
                text.withUTF8 { utf8 in
                    if let base = utf8.baseAddress { start.copyMemory(from: base, byteCount: count) }
                }
            }
            offset += count
            status = sqlite3_bind_text(
                self.raw, position, start.assumingMemoryBound(to: CChar.self), Int32(count), Self.static)
        case .bytes(let bytes):
            // A zero-length blob still binds a non-null pointer (NULL would bind SQL NULL).
            let start = self.scratch + offset
            bytes.withUnsafeBytes { buffer in
                if let base = buffer.baseAddress { start.copyMemory(from: base, byteCount: buffer.count) }
            }
            offset += bytes.count
            status = sqlite3_bind_blob(self.raw, position, start, Int32(bytes.count), Self.static)
        }
        try self.check(status)
    }

    /// `SQLITE_STATIC`: SQLite uses bound text and blobs in place, without a copy.
    private static let `static`: sqlite3_destructor_type? = nil

    /// Runs one step; `true` when a row is ready, `false` when the statement is done.
    func step() throws -> Bool {
        let status = sqlite3_step(self.raw)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let failure = SQLiteFailure(code: status, message: String(cString: sqlite3_errmsg(self.connection)))
            sqlite3_reset(self.raw)
            throw failure
        }
    }

    /// Rows the last completed INSERT, UPDATE or DELETE on the connection changed (0 for an
    /// INSERT whose row a conflict skipped).
    var changedRows: Int32 { sqlite3_changes(self.connection) }

    /// The rowid of the connection's last inserted row.
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(self.connection) }

    var columnNames: [String] {
        (0..<sqlite3_column_count(self.raw)).map { String(cString: sqlite3_column_name(self.raw, $0)) }
    }

    /// The current row's values.
    func row() -> [StoreValue] {
        (0..<sqlite3_column_count(self.raw)).map { self.value(at: $0) }
    }

    /// One column of the current row.
    func value(at column: Int32) -> StoreValue {
        switch sqlite3_column_type(self.raw, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(self.raw, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(self.raw, column))
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(self.raw, column) else { return .text("") }
            let count = Int(sqlite3_column_bytes(self.raw, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(self.raw, column))
            guard count > 0, let blob = sqlite3_column_blob(self.raw, column) else { return .bytes([]) }
            return .bytes(Array(UnsafeRawBufferPointer(start: blob, count: count)))
        default:
            return .null
        }
    }

    private func check(_ status: Int32) throws {
        guard status == SQLITE_OK else {
            throw SQLiteFailure(code: status, message: String(cString: sqlite3_errmsg(self.connection)))
        }
    }
}
