package import ConsentConfiguration
package import ConsentStorage

/// Seals rejected payloads with the origin side's key (AES-256-GCM), so operators and the
/// rejection topic never hold readable confidential content; only the origin side can open it.
package struct PayloadSealer: Sendable {
    private let keys: [BridgeSide: SealingKeyRing]

    /// A sealer with each side's key ring: the current key seals, current or previous opens.
    package init(health: SealingKeyRing, nav: SealingKeyRing) {
        keys = [.health: health, .nav: nav]
    }

    /// The box of the current key of `side` (what a sink of that side quarantines with, too).
    package static func currentBox(_ ring: SealingKeyRing) -> SealingBox {
        SealingBox(keyID: ring.current.id, keyBytes: ring.current.bytes)
    }

    /// `nonce ‖ ciphertext ‖ tag` and the id of the key used.
    package func seal(_ payload: [UInt8], for side: BridgeSide, associatedData: String) throws -> (
        sealed: [UInt8], keyID: String
    ) {
        guard let ring = keys[side] else { throw SealingError.noKey }
        let box = Self.currentBox(ring)
        return (try box.seal(payload, associatedData: associatedData), box.keyID)
    }

    /// Opens what `seal` produced, with the current or previous key named by `keyID`.
    package func open(_ sealed: [UInt8], keyID: String, for side: BridgeSide, associatedData: String) throws -> [UInt8]
    {
        guard let key = keys[side]?.key(id: keyID) else { throw SealingError.unknownKey }
        return try SealingBox(keyID: key.id, keyBytes: key.bytes).open(sealed, associatedData: associatedData)
    }

    /// A keyed digest (HMAC-SHA256 under the side's current key, hex) of `text` (see
    /// `SealingBox.digest`).
    package func digest(_ text: String, for side: BridgeSide) -> String {
        guard let ring = keys[side] else { return "00000000" }
        return Self.currentBox(ring).digest(text)
    }

    /// Why a payload could not be sealed or opened.
    package enum SealingError: Error, CustomStringConvertible {
        /// The side has no key ring.
        case noKey
        /// `keyID` names neither the side's current nor its previous key.
        case unknownKey
        /// Fixed text: names no key.
        package var description: String {
            switch self {
            case .noKey: "no sealing key configured for that side"
            case .unknownKey: "the sealing key id is neither the current nor the previous key"
            }
        }
    }
}
