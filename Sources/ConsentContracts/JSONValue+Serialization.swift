extension JSONValue {
    /// Compact UTF-8 JSON: member order kept, no whitespace, deterministic for equal values.
    ///
    /// Strings escape `"`, `\` and control characters only (non-ASCII stays UTF-8); integers
    /// print exactly; doubles print Swift's shortest round-trip form (always finite, since the
    /// parser rejects non-finite numbers; a non-finite value built in code prints as `null`).
    package func serializedBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        serialize(into: &out)
        return out
    }

    /// Appends the compact serialization to `out`.
    package func serialize(into out: inout [UInt8]) {
        switch self {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(true): out.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        case .bool(false): out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        case .integer(let value): out.append(contentsOf: String(value).utf8)
        case .number(let value):
            if value.isFinite {
                out.append(contentsOf: value.description.utf8)
            } else {
                out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            }
        case .string(let value): Self.serializeString(value, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                item.serialize(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.serializeString(member.key, into: &out)
                out.append(UInt8(ascii: ":"))
                member.value.serialize(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func serializeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        string.withUTF8 { bytes in
            // Copy runs of bytes that need no escaping in one append; skip eight bytes at a time
            // while a word holds none of them (most strings hold none at all).
            var runStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                if index &+ 8 <= count, let base = bytes.baseAddress {
                    let word = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if !mayNeedEscaping(word) {
                        index &+= 8
                        continue
                    }
                }
                let byte = bytes[index]
                index &+= 1
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                let escaped = index &- 1
                if runStart < escaped {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<escaped]))
                }
                runStart = index
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                }
            }
            if runStart < count {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Whether any of the eight bytes of `word` may be one a JSON string escapes (a control
    /// character, `"` or `\`). Never false when one is there; when true, the bytes are looked
    /// at one by one. The usual test for a zero byte, `(v - 0x01…) & ~v & 0x80…`, applied to
    /// the word itself for bytes below 0x20 and to the word XOR the quote and the backslash.
    @inline(__always)
    private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let belowSpace = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (belowSpace | quote | backslash) & highBits != 0
    }
}

extension JSONValue {
    /// Indented UTF-8 JSON (two spaces, one member per line), for files people read and diff,
    /// such as the generated anonymous-form schemas.
    package func prettyBytes(indent: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        prettyPrint(into: &out, indent: indent)
        return out
    }

    private func prettyPrint(into out: inout [UInt8], indent: Int) {
        let pad = { (level: Int) in [UInt8](repeating: UInt8(ascii: " "), count: level * 2) }
        switch self {
        case .array(let items) where !items.isEmpty:
            out.append(contentsOf: Array("[\n".utf8))
            for (index, item) in items.enumerated() {
                out.append(contentsOf: pad(indent + 1))
                item.prettyPrint(into: &out, indent: indent + 1)
                out.append(contentsOf: Array((index < items.count - 1 ? ",\n" : "\n").utf8))
            }
            out.append(contentsOf: pad(indent))
            out.append(UInt8(ascii: "]"))
        case .object(let object) where object.count > 0:
            out.append(contentsOf: Array("{\n".utf8))
            for (index, member) in object.members.enumerated() {
                out.append(contentsOf: pad(indent + 1))
                JSONValue.string(member.key).serialize(into: &out)
                out.append(contentsOf: Array(": ".utf8))
                member.value.prettyPrint(into: &out, indent: indent + 1)
                out.append(contentsOf: Array((index < object.count - 1 ? ",\n" : "\n").utf8))
            }
            out.append(contentsOf: pad(indent))
            out.append(UInt8(ascii: "}"))
        default:
            serialize(into: &out)
        }
    }
}
