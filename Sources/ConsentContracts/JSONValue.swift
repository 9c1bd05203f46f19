/// A JSON value as produced by the strict parser.
///
/// Objects keep their members in document order (output is deterministic and diffs read
/// naturally); integers that fit in `Int64` stay exact, every other number is a finite `Double`.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// An ordered JSON object whose keys are unique (the strict parser rejects duplicates).
package struct JSONObject: Sendable, Hashable, Sequence {
    /// One `"key": value` pair.
    package struct Member: Sendable, Hashable {
        package var key: String
        package var value: JSONValue

        package init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    package private(set) var members: [Member]

    /// An empty object.
    package init() { members = [] }

    /// An object from members whose keys the caller guarantees to be unique.
    package init(uniqueMembers: [Member]) { members = uniqueMembers }

    /// Number of members.
    package var count: Int { members.count }

    /// The value stored under `key`, or `nil`. Setting `nil` removes the member; setting a
    /// value replaces an existing member in place or appends a new one.
    package subscript(key: String) -> JSONValue? {
        get { members.first(where: { $0.key == key })?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// The keys in document order.
    package var keys: [String] { members.map(\.key) }

    package func makeIterator() -> IndexingIterator<[Member]> { members.makeIterator() }
}

extension JSONValue {
    /// The string payload, if this is a string.
    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The object payload, if this is an object.
    package var objectValue: JSONObject? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// The array payload, if this is an array.
    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The Boolean payload, if this is a Boolean.
    package var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The integer payload, if this is an integer (or a double with no fractional part that fits).
    package var integerValue: Int64? {
        switch self {
        case .integer(let value): return value
        case .number(let value):
            guard value.rounded() == value, let exact = Int64(exactly: value) else { return nil }
            return exact
        default: return nil
        }
    }
}

extension JSONValue {
    /// Whether the value holds a member at the contract path `path` (`FieldRule.path`: property
    /// names, `"[]"` for every item of an array), in any item of the arrays along it.
    package func holds(_ path: some Collection<String>) -> Bool {
        guard let first = path.first else { return true }
        let rest = path.dropFirst()
        switch self {
        case .object(let object) where first != "[]":
            return object[first]?.holds(rest) ?? false
        case .array(let items) where first == "[]":
            return items.contains { $0.holds(rest) }
        default:
            return false
        }
    }
}
