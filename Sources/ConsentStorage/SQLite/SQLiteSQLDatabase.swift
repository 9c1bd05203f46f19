import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLKit

/// SQLKit over a `SQLiteHandle`: the stores write their SQL once over SQLKit for both engines;
/// on SQLite it runs here, synchronously, on the calling thread (the store's `ExecutorThread`
/// inside a transaction). Query logging stays off: bound values may be personal data.
struct SQLiteSQLDatabase: SQLDatabase {
    let handle: SQLiteHandle
    let logger: Logger

    var eventLoop: any EventLoop { MultiThreadedEventLoopGroup.singleton.any() }
    var dialect: any SQLDialect { StoreSQLiteDialect() }
    var queryLogLevel: Logger.Level? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<
        Void
    > {
        do {
            try self.run(query, onRow)
            return self.eventLoop.makeSucceededVoidFuture()
        } catch {
            return self.eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try self.run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = self.serialize(query)
        let rows = try self.handle.query(sql, try binds.map(StoreValue.init(binding:)))
        let index = SQLiteColumnIndex(rows.columns)
        for values in rows.values { onRow(SQLiteResultRow(index: index, values: values)) }
    }
}

/// SQLite's SQL as SQLKit writes it (numbered `?N` parameters, standard upsert, RETURNING).
struct StoreSQLiteDialect: SQLDialect {
    var name: String { "sqlite" }
    var identifierQuote: any SQLExpression { SQLRaw("\"") }
    var literalStringQuote: any SQLExpression { SQLRaw("'") }
    func bindPlaceholder(at position: Int) -> any SQLExpression { SQLRaw("?\(position)") }
    func literalBoolean(_ value: Bool) -> any SQLExpression { SQLRaw(value ? "TRUE" : "FALSE") }
    var literalDefault: any SQLExpression { SQLLiteral.null }
    var supportsIfExists: Bool { true }
    var supportsDropBehavior: Bool { false }
    var supportsAutoIncrement: Bool { false }
    var autoIncrementClause: any SQLExpression { SQLRaw("AUTOINCREMENT") }
    var enumSyntax: SQLEnumSyntax { .unsupported }
    var alterTableSyntax: SQLAlterTableSyntax { .init(allowsBatch: false) }
    var upsertSyntax: SQLUpsertSyntax { .standard }
    var supportsReturning: Bool { true }
    var unionFeatures: SQLUnionFeatures { [.union, .unionAll, .intersect, .except] }
}

/// Column name → position, shared by the rows of one result.
final class SQLiteColumnIndex: Sendable {
    let names: [String]
    private let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        // The first of duplicate names wins, as in SQLite's own lookup by name.
        var positions: [String: Int] = [:]
        for (position, name) in names.enumerated() where positions[name] == nil { positions[name] = position }
        self.positions = positions
    }

    func position(of column: String) -> Int? { self.positions[column] }
}

/// One result row for SQLKit; values decode strictly by their stored type.
struct SQLiteResultRow: SQLRow {
    let index: SQLiteColumnIndex
    let values: [StoreValue]

    var allColumns: [String] { self.index.names }

    func contains(column: String) -> Bool { self.index.position(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        try self.value(column) == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        try StoreValueDecoder(value: try self.value(column), column: column).decode(type)
    }

    private func value(_ column: String) throws -> StoreValue {
        guard let position = self.index.position(of: column) else {
            throw DecodingError.keyNotFound(
                SQLiteColumnKey(column),
                .init(codingPath: [], debugDescription: "no column named \(column) in the result"))
        }
        return self.values[position]
    }
}

struct SQLiteColumnKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { self.stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Decodes one stored value as a Swift value: String, integers, Double, Bool, Data, [UInt8]
/// and optionals of them. Anything else is a type mismatch (never a guess).
struct StoreValueDecoder: Decoder, SingleValueDecodingContainer {
    let value: StoreValue
    let column: String

    var codingPath: [any CodingKey] { [SQLiteColumnKey(self.column)] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw self.mismatch(type)
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw self.mismatch([Any].self) }

    func decodeNil() -> Bool { self.value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        switch self.value {
        case .text(let text):
            if let text = text as? T { return text }
        case .integer(let integer):
            if T.self == Int64.self { return integer as! T }
            if T.self == Int.self { return Int(integer) as! T }
            if T.self == Int32.self, let narrow = Int32(exactly: integer) { return narrow as! T }
            if T.self == Bool.self { return (integer != 0) as! T }
            if T.self == Double.self { return Double(integer) as! T }
        case .real(let real):
            if T.self == Double.self { return real as! T }
        case .bytes(let bytes):
            if T.self == Data.self { return Data(bytes) as! T }
            if T.self == [UInt8].self { return bytes as! T }
        case .null:
            break
        }
        // Optionals: `Optional.init(from:)` checks `decodeNil()`, then decodes the wrapped type here.
        if T.self is any ExpressibleByNilLiteral.Type { return try T(from: self) }
        throw self.mismatch(type)
    }

    private func mismatch(_ type: Any.Type) -> DecodingError {
        .typeMismatch(
            type, .init(codingPath: self.codingPath, debugDescription: "column \(self.column) does not hold a \(type)"))
    }
}

extension StoreValue {
    /// The stored form of a value SQLKit bound: the types the stores bind, optionals of them,
    /// or a refusal (a struct bound by mistake must fail, not be stored as something else).
    init(binding value: any Encodable & Sendable) throws {
        switch value {
        case let text as String: self = .text(text)
        case let integer as Int64: self = .integer(integer)
        case let integer as Int: self = .integer(Int64(integer))
        case let integer as Int32: self = .integer(Int64(integer))
        case let flag as Bool: self = .integer(flag ? 1 : 0)
        case let real as Double: self = .real(real)
        case let data as Data: self = .bytes(Array(data))
        case let bytes as [UInt8]: self = .bytes(bytes)
        default:
            // A nil optional casts to none of the above.
            let encoder = NilProbeEncoder()
            try value.encode(to: encoder)
            guard encoder.sawNil else {
                // The type only, never the value: it may hold personal data.
                throw EncodingError.invalidValue(
                    String(describing: type(of: value)),
                    .init(codingPath: [], debugDescription: "cannot bind a \(type(of: value)) in SQLite"))
            }
            self = .null
        }
    }
}

/// Accepts exactly one `encodeNil()`; anything else throws.
private final class NilProbeEncoder: Encoder, SingleValueEncodingContainer {
    var sawNil = false
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(RefusingKeyedContainer<Key>())
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyedContainer() }

    func encodeNil() throws { self.sawNil = true }
    func encode<T: Encodable>(_ value: T) throws { throw Self.refusal }

    static let refusal = EncodingError.invalidValue(
        (), .init(codingPath: [], debugDescription: "unsupported bound value"))
}

private struct RefusingKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    var codingPath: [any CodingKey] { [] }
    mutating func encodeNil(forKey key: Key) throws { throw NilProbeEncoder.refusal }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw NilProbeEncoder.refusal }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        KeyedEncodingContainer(RefusingKeyedContainer<NestedKey>())
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { RefusingUnkeyedContainer() }
    mutating func superEncoder() -> any Encoder { NilProbeEncoder() }
    mutating func superEncoder(forKey key: Key) -> any Encoder { NilProbeEncoder() }
}

private struct RefusingUnkeyedContainer: UnkeyedEncodingContainer {
    var codingPath: [any CodingKey] { [] }
    var count: Int { 0 }
    mutating func encodeNil() throws { throw NilProbeEncoder.refusal }
    mutating func encode<T: Encodable>(_ value: T) throws { throw NilProbeEncoder.refusal }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        KeyedEncodingContainer(RefusingKeyedContainer<NestedKey>())
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyedContainer() }
    mutating func superEncoder() -> any Encoder { NilProbeEncoder() }
}
