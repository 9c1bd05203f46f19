/// One member value of a record the bridge builds, as its type lists it.
package enum BridgeOutputMember {
    case string(String)
    case integer(Int64)
    /// An array of strings.
    case strings([String])
    /// Any other value (a small nested object such as a receipt's `source`).
    case value(JSONValue)

    var jsonValue: JSONValue {
        switch self {
        case .string(let text): .string(text)
        case .integer(let number): .integer(number)
        case .strings(let texts): .array(texts.map(JSONValue.string))
        case .value(let value): value
        }
    }
}

/// A record the bridge builds on every forward (a receipt, a disclosure notice), listed member
/// by member once: its JSON tree (`jsonValue`), its published bytes (`serializedBytes`) and its
/// contract check (`OutputContractCheck`) are all made from that one list, so they cannot
/// disagree about what the record holds.
///
/// Why not the tree alone: each forward built its notice and receipt as trees only to check,
/// serialize and drop them. For one referral's notice (one thread, 100,000 times) the tree cost
/// ~0.8 µs to build, 3.0 to check and 2.1 to serialize; from the list, 2.7 to check and 1.2 to
/// write. The check itself is most of what is left (docs/architecture.md, the 26th round).
package protocol BridgeOutputMembers {
    /// Every key the type may publish, in publish order (`forEachMember` names them by index).
    static var memberKeys: [String] { get }
    /// The keys' JSON text with their colon (`"messageId":`), by index: written as they are.
    static var memberKeyPrefixes: [[UInt8]] { get }
    /// Calls `visit` with the index (into `memberKeys`) and value of each member present, in
    /// publish order, each key at most once.
    func forEachMember(_ visit: (Int, BridgeOutputMember) -> Void)
}

extension BridgeOutputMembers {
    /// The JSON text of each of `keys` followed by a colon (for `memberKeyPrefixes`).
    static func keyPrefixes(_ keys: [String]) -> [[UInt8]] {
        keys.map { key in JSONValue.string(key).serializedBytes() + [UInt8(ascii: ":")] }
    }

    /// The record as a JSON tree (member order fixed).
    package var jsonValue: JSONValue {
        var members: [JSONObject.Member] = []
        forEachMember { index, member in
            members.append(JSONObject.Member(key: Self.memberKeys[index], value: member.jsonValue))
        }
        return .object(JSONObject(uniqueMembers: members))
    }

    /// The record as published: byte for byte `jsonValue.serializedBytes()`, written without
    /// building the tree.
    package func serializedBytes() -> [UInt8] {
        var out = ByteWriter(capacity: 1024)
        out.append(UInt8(ascii: "{"))
        var isFirst = true
        forEachMember { index, member in
            if !isFirst { out.append(UInt8(ascii: ",")) }
            isFirst = false
            Self.memberKeyPrefixes[index].withUnsafeBufferPointer { out.append($0) }
            switch member {
            case .string(let text): out.write(jsonString: text)
            case .integer(let number): out.write(json: .integer(number))
            case .strings(let texts):
                out.append(UInt8(ascii: "["))
                for position in texts.indices {
                    if position > texts.startIndex { out.append(UInt8(ascii: ",")) }
                    out.write(jsonString: texts[position])
                }
                out.append(UInt8(ascii: "]"))
            case .value(let value): out.write(json: value)
            }
        }
        out.append(UInt8(ascii: "}"))
        return out.bytes
    }
}

/// The contract check of one output type, prepared from its compiled schema: it says what
/// `schema.isValid(output.jsonValue)` says, member by member, without building the tree.
///
/// It exists only for a schema whose root constrains an object through `type`, `properties`,
/// `required` and `additionalProperties` alone (the compiler knows no other object keyword); for
/// any other root (`$ref`, `enum`, `const`, `false`, a `required` it cannot hold in a mask) `init`
/// returns nil and the caller checks the tree. Each member's value is checked by the same
/// validator against the same compiled subschema, and `required` by the same mask.
package struct OutputContractCheck<Output: BridgeOutputMembers>: Sendable {
    /// What the root says about each of `Output.memberKeys`, by index.
    private enum MemberRule: Sendable {
        /// A declared property: its subschema and its bit in the root's `required` mask.
        case property(SchemaNode, bit: UInt64)
        /// Not declared, allowed if it meets this subschema (`additionalProperties` a schema).
        case additional(SchemaNode)
        /// Not declared, anything allowed.
        case allowed
        /// Not declared and not allowed: a record holding it fails.
        case forbidden
    }

    private let rules: [MemberRule]
    private let requiredMask: UInt64
    private let definitions: [SchemaNode]

    /// The check of `schema` for `Output`, or nil when the root is not a plain object schema.
    package init?(_ schema: JSONSchema) {
        let root = schema.root
        let keywords = root.keywords
        guard keywords.alwaysValid == nil, keywords.reference == nil, keywords.constValue == nil,
            keywords.enumValues == nil, keywords.types.isEmpty || keywords.types.contains(.object),
            let requiredMask = root.requiredMask
        else { return nil }
        self.rules = Output.memberKeys.map { key in
            if let index = root.propertyIndex(key) {
                return .property(keywords.propertyList[index].schema, bit: index < 64 ? 1 << UInt64(index) : 0)
            }
            switch keywords.additionalProperties {
            case .allowed: return .allowed
            case .forbidden: return .forbidden
            case .schema(let node): return .additional(node)
            }
        }
        self.requiredMask = requiredMask
        self.definitions = schema.definitions
    }

    /// Whether `output` as published meets the schema.
    package func conforms(_ output: Output) -> Bool {
        var validator = SchemaValidator(definitions: definitions, stopAtFirst: true)
        var present: UInt64 = 0
        var isValid = true
        output.forEachMember { index, member in
            guard isValid else { return }
            switch rules[index] {
            case .property(let node, let bit):
                present |= bit
                validator.validate(member.jsonValue, against: node)
            case .additional(let node):
                validator.validate(member.jsonValue, against: node)
            case .allowed:
                break
            case .forbidden:
                isValid = false
            }
            if !validator.violations.isEmpty { isValid = false }
        }
        return isValid && present & requiredMask == requiredMask
    }
}
