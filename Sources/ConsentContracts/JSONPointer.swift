/// RFC 6901 JSON pointers: escaping, parsing and resolution.
package enum JSONPointer {
    /// Escapes one reference token (`~` → `~0`, `/` → `~1`).
    package static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
            return token
        }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
    }

    /// Pointers to every leaf of `value` in document order (array items by index; an empty
    /// array below the root is a leaf; a scalar or empty root has none): what a disclosure
    /// notice lists as the fields that crossed.
    package static func leaves(of value: JSONValue) -> [String] {
        var pointers: [String] = []
        // Written through a pointer (`ByteWriter`): appending to an `Array` byte by byte checked
        // its uniqueness and capacity per byte (listing a referral's ~20 fields was ~3% of the
        // bridge's samples).
        var path = ByteWriter(capacity: 256)
        appendLeaves(of: value, path: &path, to: &pointers)
        return pointers
    }

    /// Appends the leaves below `value`, whose pointer is `path`; `path` is restored before
    /// returning (one growing buffer instead of a new prefix string per level and leaf).
    private static func appendLeaves(of value: JSONValue, path: inout ByteWriter, to pointers: inout [String]) {
        let length = path.count
        switch value {
        case .object(let object):
            let members = object.members
            for index in members.indices {
                path.append(UInt8(ascii: "/"))
                path.appendEscaped(members[index].key)
                appendLeaves(of: members[index].value, path: &path, to: &pointers)
                path.truncate(to: length)
            }
        case .array(let items):
            if items.isEmpty, length > 0 { pointers.append(path.text) }
            for index in items.indices {
                path.append(UInt8(ascii: "/"))
                path.append(index: index)
                appendLeaves(of: items[index], path: &path, to: &pointers)
                path.truncate(to: length)
            }
        default:
            if length > 0 { pointers.append(path.text) }
        }
    }

    /// A pointer from reference tokens (`[]` → `""`, `["a", "b/c"]` → `/a/b~1c`).
    package static func make(_ tokens: [String]) -> String {
        var result = ""
        for token in tokens {
            result += "/"
            result += escape(token)
        }
        return result
    }

    /// The unescaped reference tokens of `pointer`, or nil when it is not a valid pointer
    /// (must be empty or start with `/`; `~` only as `~0` or `~1`).
    package static func tokens(_ pointer: String) -> [String]? {
        if pointer.isEmpty { return [] }
        guard pointer.hasPrefix("/") else { return nil }
        var result: [String] = []
        for raw in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            var token = ""
            var iterator = raw.makeIterator()
            while let character = iterator.next() {
                if character == "~" {
                    switch iterator.next() {
                    case "0": token.append("~")
                    case "1": token.append("/")
                    default: return nil
                    }
                } else {
                    token.append(character)
                }
            }
            result.append(token)
        }
        return result
    }

    /// The value `pointer` designates inside `document`, or nil.
    package static func resolve(_ pointer: String, in document: JSONValue) -> JSONValue? {
        guard let tokens = tokens(pointer) else { return nil }
        var current = document
        for token in tokens {
            switch current {
            case .object(let object):
                guard let next = object[token] else { return nil }
                current = next
            case .array(let items):
                guard let position = Int(token), position >= 0, position < items.count,
                    token == String(position)
                else { return nil }
                current = items[position]
            default:
                return nil
            }
        }
        return current
    }
}

extension ByteWriter {
    /// A member's key as a pointer's reference token: `~` written `~0`, `/` written `~1` (room
    /// for the worst case made first).
    fileprivate mutating func appendEscaped(_ key: String) {
        reserve(2 * key.utf8.count)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "~"):
                put(UInt8(ascii: "~"))
                put(UInt8(ascii: "0"))
            case UInt8(ascii: "/"):
                put(UInt8(ascii: "~"))
                put(UInt8(ascii: "1"))
            default:
                put(byte)
            }
        }
    }

    /// An array index in decimal.
    fileprivate mutating func append(index: Int) {
        var divisor = 1
        while index / divisor >= 10 { divisor *= 10 }
        reserve(20)
        while divisor > 0 {
            put(UInt8(ascii: "0") + UInt8(index / divisor % 10))
            divisor /= 10
        }
    }
}
