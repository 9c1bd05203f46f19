import Foundation

/// How an outbox row's Kafka headers are stored in its `headers` text column.
///
/// Current form (`h1:`): the prefix, then one entry per header separated by `,`; an entry is
/// the base64 name, and for a non-nil value `:` and the base64 value. Base64 never contains
/// `:` or `,`, so no escaping is needed, and any bytes survive. It replaced a JSON array of
/// `{"name", "value"}` objects because Foundation's JSON coders were a fifth of the bridge's
/// CPU time; rows written in the old form (pending at an upgrade) are still read.
enum OutboxHeaderCodec {
    static let prefix = "h1:"

    static func encode(_ headers: [MessageHeader]) -> String {
        // Exact length first, then one pass writing into the string's own storage: per
        // appended byte capacity checks made this a tenth of a batch's encoding time.
        var length = Self.prefix.utf8.count + max(headers.count - 1, 0)
        for header in headers {
            length += Self.base64Length(header.name.utf8.count)
            if let value = header.value { length += 1 + Self.base64Length(value.count) }
        }
        return String(unsafeUninitializedCapacity: length) { output in
            var position = 0
            for byte in Self.prefix.utf8 {
                output[position] = byte
                position += 1
            }
            for (index, header) in headers.enumerated() {
                if index > 0 {
                    output[position] = UInt8(ascii: ",")
                    position += 1
                }
                var name = header.name
                name.withUTF8 { position = Self.writeBase64($0, into: output, at: position) }
                if let value = header.value {
                    output[position] = UInt8(ascii: ":")
                    position += 1
                    position = value.withUnsafeBufferPointer { Self.writeBase64($0, into: output, at: position) }
                }
            }
            return position
        }
    }

    /// Length of the padded base64 form of `count` bytes.
    static func base64Length(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    private static let base64Alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Writes standard base64 with padding (what `Data.base64EncodedString()` writes) of
    /// `input` at `start`; returns the position after it. `output` must have room for
    /// `base64Length(input.count)` bytes there.
    static func writeBase64(
        _ input: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>, at start: Int
    ) -> Int {
        precondition(output.count - start >= base64Length(input.count), "base64 output buffer too small")
        return Self.base64Alphabet.withUnsafeBufferPointer { alphabet in
            var position = start
            var index = 0
            while index + 3 <= input.count {
                let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                output[position] = alphabet[Int(group >> 18 & 0x3F)]
                output[position + 1] = alphabet[Int(group >> 12 & 0x3F)]
                output[position + 2] = alphabet[Int(group >> 6 & 0x3F)]
                output[position + 3] = alphabet[Int(group & 0x3F)]
                position += 4
                index += 3
            }
            let rest = input.count - index
            if rest > 0 {
                let second = rest == 2 ? UInt32(input[index + 1]) : 0
                let group = UInt32(input[index]) << 16 | second << 8
                output[position] = alphabet[Int(group >> 18 & 0x3F)]
                output[position + 1] = alphabet[Int(group >> 12 & 0x3F)]
                output[position + 2] = rest == 2 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "=")
                output[position + 3] = UInt8(ascii: "=")
                position += 4
            }
            return position
        }
    }

    static func decode(_ text: String) throws(StorageError) -> [MessageHeader] {
        guard text.hasPrefix(Self.prefix) else { return try Self.decodeLegacyJSON(text) }
        let body = text.utf8.dropFirst(Self.prefix.utf8.count)
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
