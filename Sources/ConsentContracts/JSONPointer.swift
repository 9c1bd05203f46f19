/// RFC 6901 JSON pointers: escaping, parsing and resolution.
package enum JSONPointer {
    /// Escapes one reference token (`~` → `~0`, `/` → `~1`).
    package static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else {
            return token
        }
        return token.replacing("~", with: "~0").replacing("/", with: "~1")
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
