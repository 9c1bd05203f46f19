import ConsentConfiguration
import Crypto
import Foundation

/// Seals rejected payloads with the origin side's key (AES-256-GCM), so operators and the
/// rejection topic never hold readable confidential content; only the origin side can open it.
package struct PayloadSealer: Sendable {
    private let keys: [BridgeSide: SealingKeyRing]

    package init(health: SealingKeyRing, nav: SealingKeyRing) {
        keys = [.health: health, .nav: nav]
    }

    /// `nonce ‖ ciphertext ‖ tag` and the id of the key used.
    package func seal(_ payload: [UInt8], for side: BridgeSide, associatedData: String) throws -> (sealed: [UInt8], keyID: String) {
        guard let ring = keys[side] else { throw SealingError.noKey }
        let key = SymmetricKey(data: ring.current.bytes)
        let box = try AES.GCM.seal(payload, using: key, authenticating: Array(associatedData.utf8))
        guard let combined = box.combined else { throw SealingError.noKey }
        return (Array(combined), ring.current.id)
    }

    /// Opens what `seal` produced, with the current or previous key named by `keyID`.
    package func open(_ sealed: [UInt8], keyID: String, for side: BridgeSide, associatedData: String) throws -> [UInt8] {
        guard let key = keys[side]?.key(id: keyID) else { throw SealingError.unknownKey }
        let box = try AES.GCM.SealedBox(combined: sealed)
        return Array(try AES.GCM.open(box, using: SymmetricKey(data: key.bytes), authenticating: Array(associatedData.utf8)))
    }

    /// A keyed digest (HMAC-SHA256 under the side's current key, hex) of `text`: stable for
    /// equal texts, so operators can count them, but not reversible by guessing (a plain hash of
    /// a string holding a fødselsnummer could be found by trying the ~10⁸ possible numbers).
    package func digest(_ text: String, for side: BridgeSide) -> String {
        guard let ring = keys[side] else { return "00000000" }
        let code = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: ring.current.bytes))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    package enum SealingError: Error, CustomStringConvertible {
        case noKey
        case unknownKey
        package var description: String {
            switch self {
            case .noKey: "no sealing key configured for that side"
            case .unknownKey: "the sealing key id is neither the current nor the previous key"
            }
        }
    }
}
