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

    /// A fresh reference from `generator` (a seeded one in tests).
    package static func random(using generator: inout some RandomNumberGenerator) -> CaseReference {
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return CaseReference(high: high, low: low)
    }

    /// A fresh reference from the kernel's cryptographically secure generator
    /// (`SecureRandomBytes`; `SystemRandomNumberGenerator` made two system calls per reference).
    package static func random() -> CaseReference {
        var bits: (high: UInt64, low: UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &bits) { SecureRandomBytes.fill($0) }
        return CaseReference(high: bits.high, low: bits.low)
    }

    /// `case-`, then `high` and `low` as 16 lowercase hex digits each, written in one pass.
    private init(high: UInt64, low: UInt64) {
        rawValue = String(unsafeUninitializedCapacity: 37) { text in
            for (index, byte) in "case-".utf8.enumerated() { text[index] = byte }
            func write(_ value: UInt64, at start: Int) {
                for digit in 0..<16 {
                    let nibble = UInt8(truncatingIfNeeded: value >> (60 - 4 * UInt64(digit))) & 0x0F
                    text[start + digit] = lowercaseHexDigit(nibble)
                }
            }
            write(high, at: 5)
            write(low, at: 21)
            return 37
        }
    }

    package var description: String { rawValue }
}
