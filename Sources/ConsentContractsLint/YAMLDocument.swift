package import ConsentContracts
import Yams

/// Reads a YAML document into a `JSONValue`, keeping mapping order and refusing duplicate keys.
package enum YAMLDocument {
    /// Why a YAML document could not be used (no document content in the message).
    package struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What went wrong.
        package var message: String
        package var description: String { message }
    }

    /// Parses `text` (one YAML document; JSON-compatible content only).
    package static func parse(_ text: String) throws(LoadError) -> JSONValue {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw LoadError(message: "not valid YAML: \(error)")
        }
        guard let node else { throw LoadError(message: "empty YAML document") }
        return try convert(node, path: [])
    }

    private static func convert(_ node: Node, path: [String]) throws(LoadError) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var members: [JSONObject.Member] = []
            var seen: Set<String> = []
            for (key, value) in mapping {
                guard case .scalar(let scalar) = key else {
                    throw LoadError(message: "\(JSONPointer.make(path)): mapping keys must be scalars")
                }
                guard seen.insert(scalar.string).inserted else {
                    throw LoadError(message: "\(JSONPointer.make(path)): duplicate key '\(scalar.string)'")
                }
                let child = try convert(value, path: path + [scalar.string])
                members.append(JSONObject.Member(key: scalar.string, value: child))
            }
            return .object(JSONObject(uniqueMembers: members))
        case .sequence(let sequence):
            var items: [JSONValue] = []
            for (position, item) in sequence.enumerated() {
                items.append(try convert(item, path: path + [String(position)]))
            }
            return .array(items)
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return .null
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int:
                if let value = node.int { return .integer(Int64(value)) }
                return .string(scalar.string)
            case .float:
                if let value = node.float, value.isFinite { return .number(value) }
                throw LoadError(message: "\(JSONPointer.make(path)): non-finite number")
            default:
                return .string(scalar.string)
            }
        case .alias:
            throw LoadError(message: "\(JSONPointer.make(path)): YAML aliases are not used in contracts")
        }
    }
}
