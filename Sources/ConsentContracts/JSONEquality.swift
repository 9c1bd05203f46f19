/// JSON Schema equality (`enum`, `const`): numbers by value, objects regardless of member order.
package enum JSONEquality {
    /// True when `left` and `right` are the same JSON value.
    package static func equal(_ left: JSONValue, _ right: JSONValue) -> Bool {
        switch (left, right) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.integer(let a), .number(let b)), (.number(let b), .integer(let a)):
            return Double(exactly: a).map { $0 == b } ?? (Int64(exactly: b) == a)
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.object(let a), .object(let b)):
            guard a.count == b.count else { return false }
            for member in a {
                guard let other = b[member.key], equal(member.value, other) else { return false }
            }
            return true
        default: return false
        }
    }
}
