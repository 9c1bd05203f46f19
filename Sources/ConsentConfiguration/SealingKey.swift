import Foundation

/// An AES-256 key for sealing rejected payloads, with the id stored beside each sealed payload.
///
/// `description` shows the id only: the key bytes never reach a log or an error.
package struct SealingKey: Sendable, Hashable, CustomStringConvertible {
    /// Operator-chosen id (e.g. `health-2026-11`); rotation keeps the previous id openable.
    package var id: String
    /// Exactly 32 bytes.
    package var bytes: [UInt8]

    /// A key; `bytes` must be `byteCount` long (the loader guarantees it for configured keys).
    package init(id: String, bytes: [UInt8]) {
        self.id = id
        self.bytes = bytes
    }

    /// A key of fresh random bytes (the system's generator), for keys that live only as long as
    /// the process: embedded runs without configured keys, benchmarks.
    package static func random(id: String) -> SealingKey {
        var generator = SystemRandomNumberGenerator()
        return SealingKey(id: id, bytes: (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Length of an AES-256 key in bytes.
    package static let byteCount = 32

    /// Decodes standard base64 (with padding) of exactly 32 bytes; `nil` otherwise.
    package static func decodeKey(base64 text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespaces)),
            data.count == byteCount
        else { return nil }
        return [UInt8](data)
    }

    /// Ids are letters, digits, `.`, `_`, `-`, 1…64 characters (they are stored and printed).
    package static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.count)
            && id.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || $0 == "." || $0 == "_" || $0 == "-"
            }
    }

    package var description: String { "key \(id) (<redacted>)" }
}
