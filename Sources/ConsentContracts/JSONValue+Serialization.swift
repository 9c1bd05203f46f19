extension JSONValue {
    /// Compact UTF-8 JSON: member order kept, no whitespace, deterministic for equal values.
    ///
    /// Strings escape `"`, `\` and control characters only (non-ASCII stays UTF-8); integers
    /// print exactly; doubles print Swift's shortest round-trip form (always finite, since the
    /// parser rejects non-finite numbers; a non-finite value built in code prints as `null`).
    package func serializedBytes() -> [UInt8] {
        // Through a pointer (`ByteWriter`): appending to an `Array` checked its uniqueness and
        // capacity on every append and grew it two or three times per record (the serializer
        // was ~6% of the bridge's CPU; a referral's copy, notice and receipt are ~1.7 KB of
        // JSON). Most records fit in the first kilobyte.
        var out = ByteWriter(capacity: 1024)
        out.write(json: self)
        return out.bytes
    }

    /// Appends the compact serialization to `out`.
    package func serialize(into out: inout [UInt8]) {
        out.append(contentsOf: serializedBytes())
    }
}

extension ByteWriter {
    /// Writes `value` as compact JSON.
    mutating func write(json value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(true): append("true")
        case .bool(false): append("false")
        case .integer(let value): writeASCII(String(value))
        case .number(let value):
            if value.isFinite { writeASCII(value.description) } else { append("null") }
        case .string(let value): write(jsonString: value)
        case .array(let items):
            append(UInt8(ascii: "["))
            for index in items.indices {
                if index > items.startIndex {
                    append(UInt8(ascii: ","))
                }
                write(json: items[index])
            }
            append(UInt8(ascii: "]"))
        case .object(let object):
            append(UInt8(ascii: "{"))
            let members = object.members
            for index in members.indices {
                if index > members.startIndex {
                    append(UInt8(ascii: ","))
                }
                write(jsonString: members[index].key)
                append(UInt8(ascii: ":"))
                write(json: members[index].value)
            }
            append(UInt8(ascii: "}"))
        }
    }

    /// A number's text (ASCII, nothing to escape).
    private mutating func writeASCII(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// A JSON string: runs that need no escaping are copied whole, each escape written in place.
    mutating func write(jsonString string: String) {
        var string = string
        string.withUTF8 { bytes in
            reserve(bytes.count &+ 2)
            put(UInt8(ascii: "\""))
            // Skip eight bytes at a time while a word holds nothing to escape (most strings hold
            // nothing at all), then look at the byte that may.
            var runStart = 0
            var index = 0
            let count = bytes.count
            while index < count {
                if index &+ 8 <= count, let start = bytes.baseAddress {
                    let word = UnsafeRawPointer(start).loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if !Self.mayNeedEscaping(word) {
                        index &+= 8
                        continue
                    }
                }
                let byte = bytes[index]
                index &+= 1
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                let escaped = index &- 1
                if runStart < escaped { append(UnsafeBufferPointer(rebasing: bytes[runStart..<escaped])) }
                runStart = index
                // Up to six bytes (`\u00XX`) where the reserved room held one.
                reserve(6)
                put(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): put(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): put(UInt8(ascii: "\\"))
                case 0x0A: put(UInt8(ascii: "n"))
                case 0x0D: put(UInt8(ascii: "r"))
                case 0x09: put(UInt8(ascii: "t"))
                case 0x08: put(UInt8(ascii: "b"))
                case 0x0C: put(UInt8(ascii: "f"))
                default:
                    put(UInt8(ascii: "u"))
                    put(UInt8(ascii: "0"))
                    put(UInt8(ascii: "0"))
                    put(Self.hexDigits.utf8Start[Int(byte >> 4)])
                    put(Self.hexDigits.utf8Start[Int(byte & 0x0F)])
                }
            }
            if runStart < count { append(UnsafeBufferPointer(rebasing: bytes[runStart..<count])) }
            append(UInt8(ascii: "\""))
        }
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
