/// A bridge output's JSON could not be read as its type. Names the member, never its value.
package struct BridgeOutputDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The member that is missing, of the wrong type, or not allowed.
    package var member: String

    package init(member: String) { self.member = member }

    package var description: String { "bridge output member '\(member)' is missing, of the wrong type or not allowed" }
}

/// Reads the members of one JSON object and checks, at the end, that none was left unread
/// (an unknown member refuses the whole, as `additionalProperties: false` does).
struct BridgeOutputReader {
    private let object: JSONObject
    private var read: Set<String> = []

    init(_ value: JSONValue) throws(BridgeOutputDecodingError) {
        guard let object = value.objectValue else { throw BridgeOutputDecodingError(member: "") }
        self.object = object
    }

    mutating func string(_ key: String) throws(BridgeOutputDecodingError) -> String {
        guard let value = try optionalString(key), !value.isEmpty else { throw BridgeOutputDecodingError(member: key) }
        return value
    }

    mutating func optionalString(_ key: String) throws(BridgeOutputDecodingError) -> String? {
        read.insert(key)
        guard let value = object[key] else { return nil }
        guard let text = value.stringValue else { throw BridgeOutputDecodingError(member: key) }
        return text
    }

    mutating func optionalInteger(_ key: String) throws(BridgeOutputDecodingError) -> Int64? {
        read.insert(key)
        guard let value = object[key] else { return nil }
        guard case .integer(let number) = value else { throw BridgeOutputDecodingError(member: key) }
        return number
    }

    mutating func strings(_ key: String) throws(BridgeOutputDecodingError) -> [String] {
        read.insert(key)
        guard let items = object[key]?.arrayValue else { throw BridgeOutputDecodingError(member: key) }
        var texts: [String] = []
        for item in items {
            guard let text = item.stringValue else { throw BridgeOutputDecodingError(member: key) }
            texts.append(text)
        }
        return texts
    }

    mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        return object[key]
    }

    func finish() throws(BridgeOutputDecodingError) {
        // The unknown member's name is not echoed: it came from outside.
        if object.keys.contains(where: { !read.contains($0) }) {
            throw BridgeOutputDecodingError(member: "(unknown member)")
        }
    }
}
