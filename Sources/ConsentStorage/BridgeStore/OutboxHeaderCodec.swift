import Foundation

/// How an outbox row's Kafka headers are stored in its `headers` text column.
///
/// Current form (`h2:`): the prefix, then one entry per header, each ended by `,` (so no
/// headers and one header with an empty name and no value differ); an entry is the name, and
/// for a non-nil value `=` and the value. Names and values are written as they are, but for
/// the bytes outside `!`…`~` and the four `%` `,` `=` `#`, which are written `%XX`: any bytes
/// survive, and the column stays ASCII text on every engine. A name or value that is `#` and
/// one character is an entry of the tables below: the bridge writes the same dozen header
/// names and a few constant values on every row, and naming them by one character more than
/// halved the stored headers (1,336 bytes an event in base64 `h1:` for a referral's three
/// rows, 552 in `h2:`; the bench's store went from 95.7 to 75.2 MB for 20,000 referrals).
///
/// Rows written in the earlier forms are still read, by store migration 15, which writes them
/// again in `h2:`: `h1:` (base64 names and values, `:` and `,`) and a JSON array of
/// `{"name", "value"}` objects.
enum OutboxHeaderCodec {
    static let prefix = "h2:"
    static let base64Prefix = "h1:"

    /// Header names written as `#` and their index. Append only: stored rows name them so.
    /// Spelled here rather than taken from the bridge's header constants: the stored form must
    /// not change when those do.
    static let knownNames: [String] = [
        "ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type", "traceparent",
        "cb_policy_version", "cb_bridge_version", "cb_consent_id", "cb_consent_version", "cb_decision_id",
        "cb_removed_fields", "cb-internal-subject", "cb-internal-categories", "cb-internal-direction",
        "cb-internal-follows",
    ]
    /// Header values written as `#` and their index. Append only, as `knownNames`.
    static let knownValues: [String] = [
        "1.0", "application/json", "urn:no:ips:consent-bridge", "no.ips.bridge.receipt.v1",
        "no.ips.bridge.disclosure.v1", "health-to-nav", "nav-to-health",
    ]

    private static let knownNameBytes: [[UInt8]] = knownNames.map { Array($0.utf8) }
    private static let knownValueBytes: [[UInt8]] = knownValues.map { Array($0.utf8) }
    /// Table index by code byte (`-1`: not a code).
    private static let indexByCode: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for index in 0..<codeCount { table[Int(code(index))] = Int8(index) }
        return table
    }()

    /// Whether `byte` is written as it is (else `%XX`).
    @inline(__always)
    private static func isPlain(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: ",")
            && byte != UInt8(ascii: "=") && byte != UInt8(ascii: "#")
    }

    /// A table's entries in one buffer, for the encoder: it looks up every name and value of
    /// every outbox row, and scanning an array of arrays retained each entry it compared (the
    /// encoder was ~4% of the bridge's CPU, a third of it in `swift_retain`).
    private struct CodeTable: Sendable {
        /// The entries, one after the other.
        let bytes: [UInt8]
        /// Where each entry ends in `bytes` (it starts where the one before ends).
        let ends: [Int]
        /// By length (every entry is shorter than 64 bytes): bit n set when entry n has that
        /// length. A lookup compares only the one to three entries of its length.
        let entriesByLength: [UInt64]

        init(_ entries: [String]) {
            precondition(entries.count <= 64, "a table has more than 64 entries")
            var bytes: [UInt8] = []
            var ends: [Int] = []
            var entriesByLength = [UInt64](repeating: 0, count: 64)
            for (index, entry) in entries.enumerated() {
                precondition(entry.utf8.count < 64, "a table entry is 64 bytes or longer")
                bytes += entry.utf8
                ends.append(bytes.count)
                entriesByLength[entry.utf8.count] |= 1 << UInt64(index)
            }
            self.bytes = bytes
            self.ends = ends
            self.entriesByLength = entriesByLength
        }

        /// The code of the entry equal to `candidate`, if any.
        func code(of candidate: UnsafeBufferPointer<UInt8>) -> UInt8? {
            let length = candidate.count
            guard length < 64 else { return nil }
            var entries = entriesByLength[length]
            while entries != 0 {
                let index = entries.trailingZeroBitCount
                entries &= entries &- 1
                let start = index == 0 ? 0 : ends[index - 1]
                let equal = bytes.withUnsafeBufferPointer { flat in
                    length == 0 || memcmp(flat.baseAddress! + start, candidate.baseAddress!, length) == 0
                }
                if equal { return OutboxHeaderCodec.code(index) }
            }
            return nil
        }
    }

    private static let knownNameTable = CodeTable(knownNames)
    private static let knownValueTable = CodeTable(knownValues)

    /// The text that starts header `name` in the stored form when it is not the first header
    /// (`,#d=` for `cb-internal-subject`): a value never holds a plain `,` or `#`, so it
    /// occurs nowhere else. `nil` for a name the table does not have.
    static func storedNameMarker(_ name: String) -> String? {
        guard let index = knownNames.firstIndex(of: name) else { return nil }
        return ",#" + String(UnicodeScalar(code(index))) + "="
    }

    /// How many entries a table can have: one code per digit and lowercase letter.
    private static let codeCount = 36

    /// The one-character code of table entry `index`: `0`…`9`, then `a`…`z`.
    @inline(__always)
    private static func code(_ index: Int) -> UInt8 {
        index < 10 ? UInt8(ascii: "0") + UInt8(index) : UInt8(ascii: "a") + UInt8(index - 10)
    }

    private static let hexDigits: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// Writes one name or value at `position`: its code if `table` has it, else escaped.
    @inline(__always)
    private static func write(
        _ bytes: UnsafeBufferPointer<UInt8>, code: UInt8?, into output: UnsafeMutableBufferPointer<UInt8>,
        at position: inout Int
    ) {
        if let code {
            output[position] = UInt8(ascii: "#")
            output[position + 1] = code
            position += 2
            return
        }
        guard let source = bytes.baseAddress, let target = output.baseAddress else { return }
        // Runs of bytes written as they are are copied whole; eight bytes at a time are passed
        // over while a word holds none to escape (ids, times and topics hold none at all).
        var runStart = 0
        var index = 0
        let count = bytes.count
        while index < count {
            if index &+ 8 <= count,
                !mayNeedEscaping(UnsafeRawPointer(source).loadUnaligned(fromByteOffset: index, as: UInt64.self))
            {
                index &+= 8
                continue
            }
            let byte = bytes[index]
            index &+= 1
            if isPlain(byte) { continue }
            let run = index &- 1 &- runStart
            (target + position).update(from: source + runStart, count: run)
            position &+= run
            runStart = index
            output[position] = UInt8(ascii: "%")
            output[position + 1] = hexDigits[Int(byte >> 4)]
            output[position + 2] = hexDigits[Int(byte & 0x0F)]
            position &+= 3
        }
        (target + position).update(from: source + runStart, count: count &- runStart)
        position &+= count &- runStart
    }

    /// Whether any of the eight bytes of `word` may be one `isPlain` refuses (at most `0x20`,
    /// at least `0x7F`, or `%` `,` `=` `#`). Never false when one is there; when true, the
    /// bytes are looked at one by one. The usual tests: `(v - n·0x01…) & ~v & 0x80…` for a
    /// byte below n, the same with n = 1 on the word XOR a byte for that byte, and the high
    /// bit of `v | (v + 0x01…)` for a byte of `0x7F` or more (a carry only adds false alarms).
    @inline(__always)
    private static func mayNeedEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ value: UInt64) -> UInt64 { (value &- ones) & ~value }
        let belowPlain = (word &- ones &* 0x21) & ~word
        let abovePlain = word | (word &+ ones)
        let marks =
            hasZeroByte(word ^ (ones &* 0x25)) | hasZeroByte(word ^ (ones &* 0x2C))
            | hasZeroByte(word ^ (ones &* 0x3D)) | hasZeroByte(word ^ (ones &* 0x23))
        return (belowPlain | abovePlain | marks) & highBits != 0
    }

    static func encode(_ headers: [MessageHeader]) -> String {
        // One pass into a string sized for the worst case (every byte escaped), reading the
        // headers in place. Copying each header out of the array retained and released its
        // name and value, in each of two passes (exact length, then writing): 920 against 480
        // ns for a forwarded copy's dozen headers.
        headers.withUnsafeBufferPointer { headers in
            var capacity = Self.prefix.utf8.count
            for index in headers.indices {
                capacity += 3 * headers[index].name.utf8.count + 2 + 3 * (headers[index].value?.count ?? 0)
            }
            return String(unsafeUninitializedCapacity: capacity) { output in
                var position = 0
                for byte in Self.prefix.utf8 {
                    output[position] = byte
                    position += 1
                }
                for index in headers.indices {
                    Self.writeName(headers[index].name, into: output, at: &position)
                    if let value = headers[index].value {
                        output[position] = UInt8(ascii: "=")
                        position += 1
                        value.withUnsafeBufferPointer { value in
                            Self.write(value, code: Self.knownValueTable.code(of: value), into: output, at: &position)
                        }
                    }
                    output[position] = UInt8(ascii: ",")
                    position += 1
                }
                return position
            }
        }
    }

    /// Writes a header name at `position`: its code if it is a known name, else escaped.
    @inline(__always)
    private static func writeName(
        _ name: String, into output: UnsafeMutableBufferPointer<UInt8>, at position: inout Int
    ) {
        let written: Void? = name.utf8.withContiguousStorageIfAvailable { name in
            Self.write(name, code: Self.knownNameTable.code(of: name), into: output, at: &position)
        }
        guard written == nil else { return }
        // A string that is not stored as UTF-8 (bridged), copied once.
        Array(name.utf8).withUnsafeBufferPointer {
            Self.write($0, code: Self.knownNameTable.code(of: $0), into: output, at: &position)
        }
    }

    static func decode(_ text: String) throws(StorageError) -> [MessageHeader] {
        if text.hasPrefix(Self.base64Prefix) { return try Self.decodeBase64(text) }
        guard text.hasPrefix(Self.prefix) else { return try Self.decodeLegacyJSON(text) }
        var text = text
        // `withUTF8` rethrows untyped errors: the typed one travels in a `Result`.
        return try text.withUTF8 { utf8 in
            Result { () throws(StorageError) in
                try Self.decodeEntries(UnsafeBufferPointer(rebasing: utf8[Self.prefix.utf8.count...]))
            }
        }.get()
    }

    /// The headers of an `h2:` row's text after the prefix.
    private static func decodeEntries(_ body: UnsafeBufferPointer<UInt8>) throws(StorageError) -> [MessageHeader] {
        var headers: [MessageHeader] = []
        var position = 0
        while position < body.count {
            let name = try Self.readPart(body, at: &position, table: Self.knownNameBytes)
            var value: [UInt8]? = nil
            if position < body.count, body[position] == UInt8(ascii: "=") {
                position += 1
                value = try Self.readPart(body, at: &position, table: Self.knownValueBytes)
            }
            guard position < body.count, body[position] == UInt8(ascii: ",") else {
                throw StorageError(.corruptRow, "outbox headers are not readable")
            }
            position += 1
            headers.append(MessageHeader(name: String(decoding: name, as: UTF8.self), value: value))
        }
        return headers
    }

    /// Reads one name or value from `position` up to the next `=`, `,` or the end.
    private static func readPart(
        _ body: UnsafeBufferPointer<UInt8>, at position: inout Int, table: [[UInt8]]
    ) throws(StorageError) -> [UInt8] {
        if position < body.count, body[position] == UInt8(ascii: "#") {
            guard position + 1 < body.count, case let index = Int(Self.indexByCode[Int(body[position + 1])]),
                index >= 0, index < table.count
            else {
                throw StorageError(.corruptRow, "outbox header names an unknown table entry")
            }
            position += 2
            return table[index]
        }
        var bytes: [UInt8] = []
        while position < body.count {
            let byte = body[position]
            if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "=") { break }
            if byte == UInt8(ascii: "%") {
                guard position + 2 < body.count, let high = Self.hexValue(body[position + 1]),
                    let low = Self.hexValue(body[position + 2])
                else {
                    throw StorageError(.corruptRow, "outbox header escape is not readable")
                }
                bytes.append(high << 4 | low)
                position += 3
            } else {
                bytes.append(byte)
                position += 1
            }
        }
        return bytes
    }

    @inline(__always)
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    // MARK: Rows written in `h1:` (base64)

    private static func decodeBase64(_ text: String) throws(StorageError) -> [MessageHeader] {
        let body = text.utf8.dropFirst(Self.base64Prefix.utf8.count)
        if body.isEmpty { return [] }
        var headers: [MessageHeader] = []
        for entry in body.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let parts = entry.split(separator: UInt8(ascii: ":"), maxSplits: 1, omittingEmptySubsequences: false)
            guard let nameBytes = Self.base64(parts[0]) else {
                throw StorageError(.corruptRow, "outbox header name is not base64")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            if parts.count == 1 {
                headers.append(MessageHeader(name: name, value: nil))
            } else if let value = Self.base64(parts[1]) {
                headers.append(MessageHeader(name: name, value: value))
            } else {
                throw StorageError(.corruptRow, "outbox header value is not base64")
            }
        }
        return headers
    }

    private static func base64(_ bytes: Substring.UTF8View.SubSequence) -> [UInt8]? {
        Data(base64Encoded: Data(bytes)).map { Array($0) }
    }

    // MARK: Rows written before `h1:`

    private struct LegacyHeader: Codable {
        var name: String
        var value: String?
    }

    private static func decodeLegacyJSON(_ text: String) throws(StorageError) -> [MessageHeader] {
        let stored: [LegacyHeader]
        do {
            stored = try JSONDecoder().decode([LegacyHeader].self, from: Data(text.utf8))
        } catch {
            throw StorageError(.corruptRow, "outbox headers are not readable", cause: error)
        }
        return try stored.map { header throws(StorageError) in
            guard let value = header.value else { return MessageHeader(name: header.name, value: nil) }
            guard let data = Data(base64Encoded: value) else {
                throw StorageError(.corruptRow, "outbox header value is not base64")
            }
            return MessageHeader(name: header.name, value: Array(data))
        }
    }
}
