import ConsentContracts
import Testing

@testable import ConsentBridge

/// The disclosure log entry lists the JSON pointer of every field that crossed (R4: the
/// journal records what was disclosed), so the list must be exact.
@Suite("Disclosed fields")
struct DisclosedFieldsTests {
    @Test("every leaf is listed once as an RFC 6901 pointer, in document order; '~' and '/' in keys are escaped")
    func leafPointers() throws {
        let body = try StrictJSON.parse(
            """
            {"patient": {"name": "Kari", "address": {"line": "Gate 1", "lines": []}},
             "goals": [{"text": "jobb"}, "kurs", []],
             "a/b": 1, "m~n": null, "empty": {}, "": true}
            """)
        #expect(
            JSONPointer.leaves(of: body) == [
                "/patient/name", "/patient/address/line", "/patient/address/lines",
                "/goals/0/text", "/goals/1", "/goals/2",
                "/a~1b", "/m~0n", "/",
            ])
    }

    @Test("a document without fields discloses none")
    func noLeaves() throws {
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("{}")).isEmpty)
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("[]")).isEmpty)
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("7")).isEmpty)
    }
}
