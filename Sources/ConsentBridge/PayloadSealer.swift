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
