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
        var text = Self.prefix
        text.reserveCapacity(Self.prefix.utf8.count + headers.count * 48)
        for (index, header) in headers.enumerated() {
            if index > 0 { text += "," }
            text += Data(header.name.utf8).base64EncodedString()
            if let value = header.value {
                text += ":"
                text += Data(value).base64EncodedString()
            }
        }
        return text
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
