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

    /// The pointer is built in a buffer that grows (256 bytes first): pointers longer than
    /// that, escapes across its growth and indexes of several digits come out exact.
    @Test("long and deep pointers, escapes anywhere in long keys and multi-digit indexes are exact")
    func longPointers() {
        let key = String(repeating: "k", count: 100) + "/~" + String(repeating: "z", count: 60)
        let escaped = String(repeating: "k", count: 100) + "~1~0" + String(repeating: "z", count: 60)
        var deep = JSONValue.string("leaf")
        for _ in 0..<4 { deep = .object(JSONObject(uniqueMembers: [.init(key: key, value: deep)])) }
        let items = JSONValue.array((0..<120).map { .integer(Int64($0)) })
        let body = JSONValue.object(
            JSONObject(uniqueMembers: [.init(key: "deep", value: deep), .init(key: "items", value: items)]))
        let expected =
            ["/deep" + String(repeating: "/" + escaped, count: 4)] + (0..<120).map { "/items/\($0)" }
        #expect(JSONPointer.leaves(of: body) == expected)
    }

    @Test("a document without fields discloses none")
    func noLeaves() throws {
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("{}")).isEmpty)
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("[]")).isEmpty)
        #expect(JSONPointer.leaves(of: try StrictJSON.parse("7")).isEmpty)
    }
}
