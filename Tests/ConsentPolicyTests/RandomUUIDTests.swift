import ConsentPolicy
import Foundation
import Testing

/// The ids the bridge mints (disclosure ids, case references) are proper random values in the
/// usual text forms, drawn from the kernel's generator through a pool.
@Suite("Random UUIDs")
struct RandomUUIDTests {
    @Test("version 4, RFC variant, lower-case canonical text that Foundation parses back; no repeats in 20,000")
    func randomUUIDsAreVersion4AndUnique() throws {
        var seen = Set<String>()
        for _ in 0..<20_000 {
            let id = UUID.random()
            let text = id.lowercaseString
            #expect(text == id.uuidString.lowercased())
            #expect(UUID(uuidString: text) == id)
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version 4")
            #expect(bytes[8] >> 6 == 0b10, "RFC 9562 variant")
            seen.insert(text)
        }
        #expect(seen.count == 20_000)
    }

    @Test(
        "version 7: the first 48 bits are the time in Unix milliseconds, the rest random; no repeats in one millisecond"
    )
    func timeOrderedUUIDsCarryTheirMillisecond() throws {
        let date = Date(timeIntervalSince1970: 1_764_547_200.123)
        var seen = Set<UUID>()
        for _ in 0..<5000 {
            let id = UUID.timeOrdered(at: date)
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            let milliseconds = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(milliseconds == 1_764_547_200_123)
            #expect(bytes[6] >> 4 == 7, "version 7")
            #expect(bytes[8] >> 6 == 0b10, "RFC 9562 variant")
            seen.insert(id)
        }
        #expect(seen.count == 5000)
    }

    /// The pool hands each byte out once and refills from the kernel when it runs short: blocks
    /// drawn across many refills never repeat, and every byte value comes about equally often
    /// (a pool handing out bytes twice repeats blocks; one handing out wiped bytes skews the
    /// count of zeros far beyond these bounds).
    @Test(
        "the pooled generator hands every byte out once, across refills and for requests larger than the pool's share")
    func pooledBytesAreFreshAndEven() {
        var blocks = Set<[UInt8]>()
        var counts = [Int](repeating: 0, count: 256)
        var drawn = 0
        for round in 0..<30_000 {
            // Mostly 16-byte ids, now and then odd sizes and one larger than a quarter pool.
            let size = round % 997 == 0 ? 5000 : round % 7 == 0 ? 1 + round % 61 : 16
            var bytes = [UInt8](repeating: 0, count: size)
            bytes.withUnsafeMutableBytes { SecureRandomBytes.fill($0) }
            let isID = round % 997 != 0 && round % 7 != 0
            if isID { blocks.insert(bytes) }
            for byte in bytes { counts[Int(byte)] += 1 }
            drawn += size
        }
        #expect(blocks.count == (0..<30_000).filter { $0 % 997 != 0 && $0 % 7 != 0 }.count)
        let expected = Double(drawn) / 256
        // ~1,900 per value: the standard deviation is ~44, so 25% either way is over ten of them.
        #expect(counts.allSatisfy { abs(Double($0) - expected) < expected / 4 }, "\(counts)")
    }

    @Test("a case reference is case- and 32 lower-case hex digits, the generator's two words in order")
    func caseReferenceText() {
        var generator = SeededRandom(seed: 7)
        var copy = generator
        let reference = CaseReference.random(using: &generator)
        let high = copy.next() as UInt64
        let low = copy.next() as UInt64
        #expect(reference.rawValue == "case-" + String(format: "%016llx%016llx", high, low))
        var zeros = ZeroGenerator()
        #expect(CaseReference.random(using: &zeros).rawValue == "case-" + String(repeating: "0", count: 32))
        let fresh = CaseReference.random()
        #expect(CaseReference(rawValue: fresh.rawValue) == fresh)
    }

    private struct ZeroGenerator: RandomNumberGenerator {
        mutating func next() -> UInt64 { 0 }
    }
}
