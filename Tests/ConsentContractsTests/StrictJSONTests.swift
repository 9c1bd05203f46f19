import Testing

@testable import ConsentContracts

/// The strict parser is the first gate for every event: ambiguous or hostile bodies are
/// refused with a distinct reason code before any policy runs (fail closed).
@Suite("Strict JSON parsing")
struct StrictJSONTests {
    private func code(_ bytes: [UInt8], limits: JSONParseLimits = .default) -> JSONParseError.Code? {
        do {
            _ = try StrictJSON.parse(bytes, limits: limits)
            return nil
        } catch {
            return error.code
        }
    }

    private func code(_ text: String, limits: JSONParseLimits = .default) -> JSONParseError.Code? {
        code(Array(text.utf8), limits: limits)
    }

    @Test("ordinary documents parse, member order kept, integers exact")
    func parsesOrdinaryDocuments() throws {
        let value = try StrictJSON.parse(
            #"{"b": [1, -2, 3.5, true, false, null], "a": "x", "n": -9223372036854775808}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "n"])
        #expect(object["b"] == .array([.integer(1), .integer(-2), .number(3.5), .bool(true), .bool(false), .null]))
        #expect(object["n"] == .integer(Int64.min))
        #expect(try StrictJSON.parse(" 9223372036854775807 ") == .integer(Int64.max))
    }

    @Test("duplicate keys are refused, also when equal only after \\u decoding")
    func duplicateKeys() {
        #expect(code(#"{"a":1,"a":2}"#) == .duplicateKey)
        #expect(code(#"{"a":1,"\u0061":2}"#) == .duplicateKey)
        #expect(code(#"{"fødsel":1,"f\u00f8dsel":2}"#) == .duplicateKey)
        #expect(code(#"{"x":{"k":1,"k":1}}"#) == .duplicateKey)
        // Many members: the set-based path.
        let many = (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",")
        #expect(code("{\(many),\"k7\":0}") == .duplicateKey)
        #expect(code("{\(many)}") == nil)
    }

    @Test("duplicate-key error names offset only, never the key text")
    func errorDescriptionHasNoContent() {
        do {
            _ = try StrictJSON.parse(#"{"01017012345":1,"01017012345":2}"#)
            Issue.record("expected failure")
        } catch {
            #expect(error.description == "json.duplicate-key at byte 17")
            #expect(!error.description.contains("01017012345"))
        }
    }

    @Test("invalid UTF-8 is refused: overlong, truncated, encoded surrogate, beyond U+10FFFF, stray continuation")
    func invalidUTF8() throws {
        let cases: [[UInt8]] = [
            [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
            [0x22, 0xE0, 0x80, 0xAF, 0x22],  // overlong 3-byte
            [0x22, 0xF0, 0x80, 0x80, 0xAF, 0x22],  // overlong 4-byte
            [0x22, 0xC3, 0x22],  // truncated 2-byte
            [0x22, 0xE2, 0x82],  // truncated at end
            [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate D800
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // U+110000
            [0x22, 0x80, 0x22],  // lone continuation byte
            [0x22, 0xFF, 0x22],
        ]
        for bytes in cases { #expect(code(bytes) == .invalidUTF8, "bytes \(bytes)") }
        #expect(try StrictJSON.parse(Array("\"blåbærsyltetøy 😀\"".utf8)) == .string("blåbærsyltetøy 😀"))
    }

    @Test("escapes decode; surrogate pairs combine; lone surrogates are refused")
    func escapesAndSurrogates() throws {
        #expect(try StrictJSON.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try StrictJSON.parse(#""\u00e6\u00F8\u00e5""#) == .string("æøå"))
        #expect(try StrictJSON.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(code(#""\ud800""#) == .loneSurrogate)
        #expect(code(#""\ud800x""#) == .loneSurrogate)
        #expect(code(#""\ud800\u0041""#) == .loneSurrogate)
        #expect(code(#""\udc00""#) == .loneSurrogate)
        #expect(code(#""\ude00\ud83d""#) == .loneSurrogate)
        #expect(code(#""\x""#) == .syntax)
        #expect(code(#""\u12g4""#) == .syntax)
    }

    @Test("control characters inside strings are refused")
    func controlCharacters() {
        #expect(code([0x22, 0x61, 0x0A, 0x22]) == .controlCharacter)
        #expect(code([0x22, 0xC3, 0xA6, 0x09, 0x22]) == .controlCharacter)
        #expect(code([0x22, 0x00, 0x22]) == .controlCharacter)
    }

    @Test("nesting deeper than the limit is refused; at the limit it parses")
    func depthLimit() {
        let atLimit = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        let beyond = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(code(atLimit) == nil)
        #expect(code(beyond) == .tooDeep)
        #expect(code(String(repeating: "{\"a\":", count: 33) + "1" + String(repeating: "}", count: 33)) == .tooDeep)
        #expect(code("[[[1]]]", limits: JSONParseLimits(maxDepth: 2)) == .tooDeep)
        // A hostile 100 000-deep body fails fast instead of exhausting the stack.
        #expect(code(String(repeating: "[", count: 100_000)) == .tooDeep)
    }

    @Test("bodies over the size limit are refused before parsing")
    func sizeLimit() {
        let big = "\"" + String(repeating: "a", count: 256 * 1024) + "\""
        #expect(code(big) == .tooLarge)
        #expect(code("[1,2,3]", limits: JSONParseLimits(maxBytes: 6)) == .tooLarge)
        #expect(code("[1,2,3]", limits: JSONParseLimits(maxBytes: 7)) == nil)
    }

    @Test("trailing data after the value is refused")
    func trailingData() {
        #expect(code("{} {}") == .trailingData)
        #expect(code("1 2") == .trailingData)
        #expect(code("{}x") == .trailingData)
        #expect(code("{}\n") == nil)
    }

    @Test("numbers: beyond Int64 become Double, non-finite refused, grammar strict")
    func numbers() throws {
        #expect(try StrictJSON.parse("9223372036854775808") == .number(9223372036854775808.0))
        #expect(try StrictJSON.parse("-9223372036854775809") == .number(-9223372036854775809.0))
        #expect(try StrictJSON.parse("1e2") == .number(100))
        #expect(try StrictJSON.parse("-0.5E-3") == .number(-0.0005))
        #expect(code("1e400") == .numberOutOfRange)
        #expect(code("-1e309") == .numberOutOfRange)
        #expect(code("1" + String(repeating: "0", count: 400)) == .numberOutOfRange)
        #expect(code("0x10") == .trailingData)
        for bad in ["01", "-", "1.", ".5", "1e", "+1", "NaN", "Infinity", "-01", "1.e5"] {
            #expect(code(bad) == .syntax, "\(bad)")
        }
    }

    @Test("empty input and ordinary syntax errors have their own codes")
    func emptyAndSyntax() {
        #expect(code("") == .empty)
        #expect(code("  \n\t ") == .empty)
        for bad in [
            "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "[1 2]", "{'a':1}", "tru", "nul", "{\"a\" 1}", "\"abc", "[", "{1:2}",
        ] {
            #expect(code(bad) == .syntax, "\(bad)")
        }
        #expect(code([0xEF, 0xBB, 0xBF, 0x7B, 0x7D]) == .syntax)  // BOM is not JSON
    }

    @Test("serialization is compact, keeps member order and round-trips")
    func serializationRoundTrips() throws {
        let text = #"{"z":1,"a":[true,null,-2.5,"line\nbreak \"q\" \u0001 ø"],"e":{}}"#
        let value = try StrictJSON.parse(text)
        let bytes = value.serializedBytes()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == #"{"z":1,"a":[true,null,-2.5,"line\nbreak \"q\" \u0001 ø"],"e":{}}"#)
        #expect(try StrictJSON.parse(bytes) == value)
    }

    /// The serializer writes into a buffer of its own that grows when a value outgrows it (1 KiB
    /// first): strings and escapes that end right at, or straddle, every byte of the first growth
    /// must come out exactly, and a value many times that size must read back unchanged.
    @Test("values larger than the serializer's first buffer come out whole and exact")
    func serializationGrowsItsBuffer() throws {
        for length in 1010...1030 {
            let run = String(repeating: "a", count: length)
            let value = JSONValue.array([.string(run + "\n\u{01}"), .integer(-7), .null])
            #expect(
                String(decoding: value.serializedBytes(), as: UTF8.self) == "[\"\(run)\\n\\u0001\",-7,null]",
                "length \(length)")
        }
        let members = (0..<600).map { index in
            JSONObject.Member(
                key: "key\(index)\"",
                value: .object(
                    JSONObject(uniqueMembers: [
                        .init(key: "text", value: .string(String(repeating: "ø\\", count: index % 40))),
                        .init(key: "list", value: .array([.bool(index % 2 == 0), .number(Double(index) + 0.25)])),
                    ])))
        }
        let large = JSONValue.object(JSONObject(uniqueMembers: members))
        let bytes = large.serializedBytes()
        #expect(bytes.count > 40_000)
        #expect(try StrictJSON.parse(bytes) == large)
    }

    /// The serializer skips eight bytes at a time while a word holds nothing to escape: every
    /// character JSON escapes, at every position of strings of lengths around the word size,
    /// beside ASCII and multi-byte UTF-8, must come out escaped and read back unchanged.
    @Test("every character JSON escapes is escaped wherever it stands in a string, and reads back")
    func escapingAtEveryPosition() throws {
        let specials = (0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) } + ["\"", "\\"]
        for length in [1, 7, 8, 9, 15, 16, 17, 24, 33] {
            for filler in ["a", "ø", "~"] {
                for position in 0..<length {
                    for special in specials {
                        var characters = Array(repeating: Character(filler), count: length)
                        characters[position] = special
                        let text = String(characters)
                        let bytes = JSONValue.string(text).serializedBytes()
                        #expect(!bytes.contains { $0 < 0x20 }, "a raw control character in \(bytes)")
                        #expect(try StrictJSON.parse(bytes) == .string(text))
                    }
                }
            }
        }
        #expect(
            String(decoding: JSONValue.string("aaaaaaa\"aaaaaaaa\\").serializedBytes(), as: UTF8.self)
                == #""aaaaaaa\"aaaaaaaa\\""#)
    }
}
