/// The random reference that stands for a person in an anonymous message.
///
/// 128 random bits, so the reference itself carries no identity; only the origin side (which
/// stores the mapping the decision returns) can map it back. The pipeline draws a fresh one per
/// event and passes it into `decide`, which keeps `decide` deterministic.
package struct CaseReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// `case-` followed by 32 lowercase hex digits.
    package let rawValue: String

    /// Validates the shape of a stored reference.
    package init?(rawValue: String) {
        let bytes = Array(rawValue.utf8)
        guard bytes.count == 37, rawValue.hasPrefix("case-"),
            bytes[5...].allSatisfy({ ($0 &- UInt8(ascii: "0") < 10) || ($0 &- UInt8(ascii: "a") < 6) })
        else { return nil }
        self.rawValue = rawValue
    }

    /// A fresh reference from `generator` (the system generator in production, a seeded one in tests).
    package static func random(using generator: inout some RandomNumberGenerator) -> CaseReference {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return CaseReference(unchecked: "case-" + hex(high) + hex(low))
    }

    /// A fresh reference from the system's cryptographically secure generator.
    package static func random() -> CaseReference {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    private init(unchecked: String) { rawValue = unchecked }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    package var description: String { rawValue }
}
