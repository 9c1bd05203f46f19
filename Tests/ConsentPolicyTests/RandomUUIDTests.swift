import ConsentPolicy
import Foundation
import Testing

/// The ids the bridge mints (disclosure ids) are proper random UUIDs in the usual text form.
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
}
