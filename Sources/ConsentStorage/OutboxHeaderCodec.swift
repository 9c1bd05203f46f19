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
        var bytes = Array(Self.prefix.utf8)
        bytes.reserveCapacity(bytes.count + headers.reduce(0) { $0 + 4 * ($1.name.utf8.count + ($1.value?.count ?? 0)) / 3 + 8 })
        for (index, header) in headers.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            Self.appendBase64(header.name.utf8, to: &bytes)
            if let value = header.value {
                bytes.append(UInt8(ascii: ":"))
                Self.appendBase64(value, to: &bytes)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let base64Alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Standard base64 with padding (what `Data.base64EncodedString()` writes), appended in
    /// place: the Foundation round trip through `Data` and `String` per header was a large part
    /// of encoding an outbox row.
    static func appendBase64(_ input: some Collection<UInt8>, to output: inout [UInt8]) {
        let alphabet = Self.base64Alphabet
        var iterator = input.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = second == nil ? nil : iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(group >> 6 & 0x3F)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(group & 0x3F)])
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
