import Crypto
import Foundation

/// One AES-256-GCM key and its id: seals content so that a store, a topic or an operator view
/// holds it unreadably, and only the holder of the key can open it.
///
/// Used for the bridge's rejected payloads (`PayloadSealer`, per side) and for what a sink
/// quarantines (R10, with its side's key).
package struct SealingBox: Sendable {
    /// Stored beside every sealed value, so a key rotation can still open older ones.
    package let keyID: String
    /// Kept as bytes: `SymmetricKey` is not `Sendable`.
    private let keyBytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: self.keyBytes) }

    /// A box for a 32-byte key.
    package init(keyID: String, keyBytes: [UInt8]) {
        self.keyID = keyID
        self.keyBytes = keyBytes
    }

    /// `nonce ‖ ciphertext ‖ tag`, authenticated with `associatedData` (e.g. the record's id, so
    /// a sealed value cannot be moved to another row unnoticed).
    package func seal(_ plaintext: [UInt8], associatedData: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: self.key, authenticating: Array(associatedData.utf8))
        guard let combined = box.combined else { throw SealingBoxError.cannotSeal }
        return Array(combined)
    }

    /// Opens what `seal` produced with the same associated data.
    package func open(_ sealed: [UInt8], associatedData: String) throws -> [UInt8] {
        let box = try AES.GCM.SealedBox(combined: sealed)
        return Array(try AES.GCM.open(box, using: self.key, authenticating: Array(associatedData.utf8)))
    }

    /// A keyed digest (HMAC-SHA256, hex) of `text`: stable for equal texts, so operators can
    /// count them, but not reversible by guessing (a plain hash of a string holding a
    /// fødselsnummer could be found by trying the ~10⁸ possible numbers).
    package func digest(_ text: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: self.key)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    package enum SealingBoxError: Error, CustomStringConvertible {
        case cannotSeal
        package var description: String { "AES-GCM produced no combined representation" }
    }
}
