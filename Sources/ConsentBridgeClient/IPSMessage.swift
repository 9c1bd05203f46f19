internal import ConsentContracts
import Foundation
import Synchronization

/// A message an EPJ or NAV system sends through the bridge, typed after its published
/// contract (the types in `Generated/Messages.swift` are generated from `Contracts/schemas`).
///
/// Build one with its initializer, `validate()` it (every field against the contract, with
/// the pointer and rule of each problem), and send it with `IPSProducer`.
public protocol IPSMessage: Codable, Sendable {
    /// The contract's name (`referral`).
    static var contractName: String { get }
    /// The CloudEvents type it is sent with (`no.ips.health.referral.v1`).
    static var ceType: String { get }
    /// The topic its contract publishes it on (`health.ips.outbound`).
    static var defaultTopic: String { get }
    /// JSON Pointer of the person the message is about (its Kafka key).
    static var subjectPointer: String { get }
    /// The contract's JSON Schema, as published.
    static var schemaText: String { get }
}

/// One field of a message that breaks one rule of its contract.
public struct IPSFieldError: Sendable, Hashable, CustomStringConvertible {
    /// JSON Pointer of the field (`/patient/fodselsnummer`; empty for the whole message).
    public let pointer: String
    /// The schema rule it breaks (`pattern`, `required`, `enum`, `maxLength`, …).
    public let rule: String
    /// What is wrong, in words (never the field's value).
    public let message: String

    public var description: String { "\(pointer.isEmpty ? "/" : pointer): \(rule): \(message)" }
}

/// A message that does not satisfy its contract: every problem at once.
public struct IPSValidationError: Error, Sendable, CustomStringConvertible {
    /// The contract it was checked against.
    public let contract: String
    /// Each field and the rule it breaks.
    public let fields: [IPSFieldError]

    public var description: String {
        "\(contract): " + fields.map(\.description).joined(separator: "; ")
    }
}

extension IPSMessage {
    /// Checks the message against its contract; throws every field error at once.
    public func validate() throws(IPSValidationError) {
        _ = try validatedJSON()
    }

    /// The message's JSON, checked against its contract.
    func validatedJSON() throws(IPSValidationError) -> (bytes: [UInt8], value: JSONValue) {
        let fail = { (fields: [IPSFieldError]) in IPSValidationError(contract: Self.contractName, fields: fields) }
        guard let data = try? JSONEncoder().encode(self), let value = try? StrictJSON.parse(Array(data)) else {
            throw fail([
                IPSFieldError(pointer: "", rule: "encoding", message: "the message could not be encoded as JSON")
            ])
        }
        guard let schema = SchemaCache.schema(for: Self.self) else {
            throw fail([
                IPSFieldError(pointer: "", rule: "contract", message: "the contract's schema could not be compiled")
            ])
        }
        let violations = schema.validate(value)
        guard violations.isEmpty else {
            throw fail(violations.map { IPSFieldError(pointer: $0.pointer, rule: $0.keyword, message: $0.message) })
        }
        return (Array(data), value)
    }

    /// The message's `eventId`, if its contract has one.
    func eventID(in value: JSONValue) -> String? {
        JSONPointer.resolve("/eventId", in: value)?.stringValue
    }

    /// The person the message is about (its subject field), if it names one.
    func subject(in value: JSONValue) -> String? {
        JSONPointer.resolve(Self.subjectPointer, in: value)?.stringValue
    }
}

/// Compiled contract schemas, once per message type.
enum SchemaCache {
    private static let compiled = Mutex<[String: JSONSchema]>([:])

    static func schema(for type: any IPSMessage.Type) -> JSONSchema? {
        if let schema = compiled.withLock({ $0[type.contractName] }) { return schema }
        guard let document = try? StrictJSON.parse(type.schemaText), let schema = try? JSONSchema(compiling: document)
        else { return nil }
        compiled.withLock { $0[type.contractName] = schema }
        return schema
    }
}
