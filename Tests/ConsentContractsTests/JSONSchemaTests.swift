import Foundation
import Testing

@testable import ConsentContracts

/// Schema validation is what keeps unknown or malformed content from crossing (fail closed):
/// every keyword the contracts use is enforced, and every violation is reported with a pointer.
@Suite("JSON Schema validation")
struct JSONSchemaTests {
    private func schema(_ text: String) throws -> JSONSchema {
        try JSONSchema(compiling: try StrictJSON.parse(text))
    }

    private func violations(_ schemaText: String, _ instance: String) throws -> [SchemaViolation] {
        try schema(schemaText).validate(try StrictJSON.parse(instance))
    }

    private func keywords(_ schemaText: String, _ instance: String) throws -> [String] {
        try violations(schemaText, instance).map(\.keyword)
    }

    @Test("type: each JSON type, unions, integers written as 1.0")
    func typeKeyword() throws {
        #expect(try keywords(#"{"type":"string"}"#, "1") == ["type"])
        #expect(try keywords(#"{"type":"string"}"#, #""a""#) == [])
        #expect(try keywords(#"{"type":"integer"}"#, "1.5") == ["type"])
        #expect(try keywords(#"{"type":"integer"}"#, "1.0") == [])
        #expect(try keywords(#"{"type":"number"}"#, "7") == [])
        #expect(try keywords(#"{"type":"boolean"}"#, "0") == ["type"])
        #expect(try keywords(#"{"type":["string","null"]}"#, "null") == [])
        #expect(try keywords(#"{"type":["string","null"]}"#, "[]") == ["type"])
        #expect(try keywords(#"{"type":"object"}"#, "[]") == ["type"])
        #expect(try keywords(#"{"type":"array"}"#, "{}") == ["type"])
    }

    @Test("required, properties and additionalProperties false, all reported together")
    func objectKeywords() throws {
        let contract = #"""
            {"type":"object","additionalProperties":false,"required":["a","b"],
             "properties":{"a":{"type":"string"},"b":{"type":"integer"},"c":{"type":"boolean"}}}
            """#
        let found = try violations(contract, #"{"a":1,"c":"x","extra":true}"#)
        #expect(
            Set(found.map { "\($0.pointer) \($0.keyword)" }) == [
                "/a type", "/c type", "/extra additionalProperties", " required",
            ])
        #expect(try keywords(contract, #"{"a":"x","b":2}"#) == [])
    }

    /// Required properties the schema declares are checked from the members the walk visits
    /// (one pass); the report must not change: required first, then the members in order.
    @Test(
        "a missing required property is reported first, whether the schema declares few properties or many",
        arguments: [3, 40])
    func missingRequiredReportedFirst(declared: Int) throws {
        let names = (0..<declared).map { "p\($0)" }
        let properties = names.map { #""\#($0)":{"type":"integer"}"# }.joined(separator: ",")
        let contract = #"{"type":"object","required":["p2","p0","p1"],"properties":{\#(properties)}}"#
        let found = try violations(contract, #"{"p0":"x","p2":3,"p1":"y"}"#)
        #expect(found.map { "\($0.pointer) \($0.keyword)" } == ["/p0 type", "/p1 type"])
        let missing = try violations(contract, #"{"p1":"y","p0":1}"#)
        #expect(
            missing.map { "\($0.pointer) \($0.keyword) \($0.message)" } == [
                " required missing required property 'p2'", "/p1 type expected integer",
            ])
        let twoMissing = try violations(contract, #"{"p0":1}"#)
        #expect(twoMissing.map(\.message) == ["missing required property 'p2'", "missing required property 'p1'"])
        let compiled = try schema(contract)
        #expect(!compiled.isValid(try StrictJSON.parse(#"{"p0":1,"p1":2}"#)))
        #expect(!compiled.isValid(try StrictJSON.parse(#"{"p0":1,"p1":2,"extra":3}"#)), "an extra is no stand-in")
        #expect(compiled.isValid(try StrictJSON.parse(#"{"p0":1,"p1":2,"p2":3}"#)))
        // A required name the schema does not declare is still looked for by name.
        let undeclared = try schema(#"{"type":"object","required":["q"],"properties":{\#(properties)}}"#)
        #expect(!undeclared.isValid(try StrictJSON.parse(#"{"p0":1}"#)))
        #expect(undeclared.isValid(try StrictJSON.parse(#"{"q":null}"#)))
    }

    @Test("unknown property names that could be personal data are not echoed")
    func unsafeKeysWithheld() throws {
        let found = try violations(#"{"type":"object","additionalProperties":false}"#, #"{"15476545657":"x"}"#)
        #expect(found.count == 1)
        #expect(found[0].pointer == "")
        #expect(!found.description.contains("15476545657"))
    }

    @Test("enum and const compare JSON values (1 equals 1.0, objects ignore member order)")
    func enumAndConst() throws {
        #expect(try keywords(#"{"enum":["granted","withdrawn"]}"#, #""revoked""#) == ["enum"])
        #expect(try keywords(#"{"enum":["granted","withdrawn"]}"#, #""granted""#) == [])
        #expect(try keywords(#"{"const":1}"#, "1.0") == [])
        #expect(try keywords(#"{"const":{"a":1,"b":[true]}}"#, #"{"b":[true],"a":1}"#) == [])
        #expect(try keywords(#"{"const":"x"}"#, #""y""#) == ["const"])
        #expect(try keywords(#"{"enum":[null, 2]}"#, "false") == ["enum"])
    }

    @Test("pattern searches unless anchored; classes, groups, quantifiers")
    func patternKeyword() throws {
        let fnr = #"{"type":"string","pattern":"^[0-9]{11}$"}"#
        #expect(try keywords(fnr, #""15476545657""#) == [])
        #expect(try keywords(fnr, #""1547654565""#) == ["pattern"])
        #expect(try keywords(fnr, #""154765456570""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"abc"}"#, #""xxabcxx""#) == [])
        let uuid = #"{"pattern":"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"}"#
        #expect(try keywords(uuid, #""7d1c2a4e-5b6f-4c1d-9e8a-2b3c4d5e6f70""#) == [])
        #expect(try keywords(uuid, #""7D1C2A4E-5b6f-4c1d-9e8a-2b3c4d5e6f70""#) == ["pattern"])
        let codes = #"{"pattern":"^[a-z0-9]+([.-][a-z0-9]+)*$"}"#
        #expect(try keywords(codes, #""consent.missing""#) == [])
        #expect(try keywords(codes, #""consent..missing""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^(?:ja|nei)$"}"#, #""nei""#) == [])
        #expect(try keywords(#"{"pattern":"^\\d{4}\\s?\\w+$"}"#, #""0150 Oslo""#) == [])
        #expect(try keywords(#"{"pattern":"^[^@]+@[^@]+$"}"#, #""a@b@c""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^a.*?b$"}"#, #""axxb""#) == [])
        // One-pass (linear) and backtracking shapes agree on the edges.
        #expect(try keywords(#"{"pattern":"^[a-z]+[a-z]$"}"#, #""ab""#) == [])
        #expect(try keywords(#"{"pattern":"^[a-z]+[a-z]$"}"#, #""a""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^[0-9]{6,9}$"}"#, #""12345""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^[0-9]{6,9}$"}"#, #""123456789""#) == [])
        #expect(try keywords(#"{"pattern":"^[0-9]{6,9}$"}"#, #""1234567890""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^[^0-9@]+$"}"#, #""Bjørn Ås""#) == [])
        #expect(try keywords(#"{"pattern":"^[^0-9@]+$"}"#, #""Bjørn1""#) == ["pattern"])
        #expect(try keywords(#"{"pattern":"^\\+47[0-9]{8}$"}"#, #""+4791234567""#) == [])
        #expect(try keywords(#"{"pattern":"^[A-Z][0-9]{6}$"}"#, #""a123456""#) == ["pattern"])
        // Patterns only constrain strings.
        #expect(try keywords(#"{"pattern":"^x$"}"#, "5") == [])
    }

    @Test("unsupported regex syntax is a load error, not a silently different match")
    func unsupportedPatterns() {
        for pattern in [#"(a)\\1"#, #"(?=a)"#, #"\\bword"#, #"\\p{L}"#, "[a-", "(ab", "a{2,1}", "*a"] {
            #expect(throws: SchemaCompileError.self, "\(pattern)") {
                try JSONSchema(compiling: try StrictJSON.parse(#"{"pattern":"\#(pattern)"}"#))
            }
        }
    }

    @Test("format date and date-time: RFC 3339 with real calendar dates")
    func formats() throws {
        let date = #"{"type":"string","format":"date"}"#
        for good in ["2026-03-02", "2024-02-29", "2000-02-29", "0001-01-01"] {
            #expect(try keywords(date, "\"\(good)\"") == [], "\(good)")
        }
        for bad in [
            "2026-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "0000-01-01", "2026-3-2",
            "2026-03-02T10:00:00Z", " 2026-03-02", "26-03-02",
        ] {
            #expect(try keywords(date, "\"\(bad)\"") == ["format"], "\(bad)")
        }
        let dateTime = #"{"type":"string","format":"date-time"}"#
        for good in [
            "2026-03-02T09:15:27Z", "2026-03-02t09:15:27.123456z", "2026-03-02T09:15:27+01:00",
            "2024-02-29T23:59:59-12:30",
        ] {
            #expect(try keywords(dateTime, "\"\(good)\"") == [], "\(good)")
        }
        for bad in [
            "2026-03-02T09:15:27", "2026-03-02 09:15:27Z", "2026-02-30T09:15:27Z", "2026-03-02T24:00:00Z",
            "2026-03-02T09:60:00Z", "2026-03-02T09:15:60Z", "2026-03-02T09:15:27.Z", "2026-03-02T09:15:27+0100",
            "2026-03-02T09:15:27+24:00", "2026-03-02",
        ] {
            #expect(try keywords(dateTime, "\"\(bad)\"") == ["format"], "\(bad)")
        }
    }

    @Test("minLength and maxLength count Unicode code points")
    func lengths() throws {
        let s = #"{"minLength":2,"maxLength":3}"#
        #expect(try keywords(s, #""æø""#) == [])
        #expect(try keywords(s, #""😀😀😀""#) == [])  // 3 code points, 6 UTF-16 units
        #expect(try keywords(s, #""a""#) == ["minLength"])
        #expect(try keywords(s, #""æøåa""#) == ["maxLength"])
        // A combining sequence counts its code points, not grapheme clusters.
        #expect(try keywords(#"{"maxLength":1}"#, #""e\u0301""#) == ["maxLength"])
    }

    @Test("minimum, maximum, exclusive bounds; exact for big integers")
    func numericBounds() throws {
        let s = #"{"minimum":1,"maximum":12}"#
        #expect(try keywords(s, "1") == [])
        #expect(try keywords(s, "12.0") == [])
        #expect(try keywords(s, "0") == ["minimum"])
        #expect(try keywords(s, "12.5") == ["maximum"])
        #expect(try keywords(#"{"exclusiveMinimum":0}"#, "0") == ["exclusiveMinimum"])
        #expect(try keywords(#"{"exclusiveMaximum":1.5}"#, "1.4") == [])
        #expect(try keywords(#"{"maximum":9223372036854775806}"#, "9223372036854775807") == ["maximum"])
    }

    @Test("items, minItems, maxItems, uniqueItems with pointers to array elements")
    func arrays() throws {
        let s =
            #"{"type":"array","minItems":1,"maxItems":3,"uniqueItems":true,"items":{"type":"string","enum":["a","b","c"]}}"#
        #expect(try keywords(s, #"["a","b"]"#) == [])
        #expect(try keywords(s, "[]") == ["minItems"])
        #expect(try keywords(s, #"["a","b","c","a"]"#).sorted() == ["maxItems", "uniqueItems"])
        #expect(try violations(s, #"["a",1]"#).map(\.pointer) == ["/1", "/1"])
    }

    @Test("$ref into $defs, also recursive; unresolved references fail to load")
    func references() throws {
        let s = #"""
            {"$defs":{"person":{"type":"object","required":["name"],"properties":{"name":{"type":"string"},
               "guardian":{"$ref":"#/$defs/person"}}}},
             "type":"object","properties":{"patient":{"$ref":"#/$defs/person"}}}
            """#
        #expect(try keywords(s, #"{"patient":{"name":"Kari"}}"#) == [])
        #expect(
            try violations(s, #"{"patient":{"name":"Kari","guardian":{}}}"#).map(\.pointer) == ["/patient/guardian"])
        #expect(throws: SchemaCompileError.self) { try schema(##"{"$ref":"#/$defs/missing"}"##) }
        #expect(throws: SchemaCompileError.self) { try schema(##"{"$ref":"other.json#/x"}"##) }
    }

    @Test("pointers escape ~ and / (RFC 6901)")
    func pointerEscaping() throws {
        let s = #"{"properties":{"a/b":{"type":"string"},"m~n":{"type":"string"}}}"#
        let found = try violations(s, #"{"a/b":1,"m~n":2}"#)
        #expect(found.map(\.pointer) == ["/a~1b", "/m~0n"])
        #expect(JSONPointer.tokens("/a~1b/m~0n/~01") == ["a/b", "m~n", "~1"])
        #expect(JSONPointer.tokens("a") == nil)
        #expect(JSONPointer.tokens("/a~2") == nil)
        #expect(JSONPointer.make(["a/b", "m~n", ""]) == "/a~1b/m~0n/")
    }

    @Test("fail closed: unknown keywords and formats are load errors; annotations and x-* are fine")
    func unknownKeywords() throws {
        #expect(throws: SchemaCompileError.self) { try schema(#"{"type":"string","maxLenght":3}"#) }
        #expect(throws: SchemaCompileError.self) { try schema(#"{"properties":{"a":{"oneOf":[]}}}"#) }
        #expect(throws: SchemaCompileError.self) { try schema(#"{"format":"email"}"#) }
        #expect(throws: SchemaCompileError.self) { try schema(#"{"$defs":{"unused":{"typo":1}}}"#) }
        #expect(throws: SchemaCompileError.self) { try schema(#"{"type":"strnig"}"#) }
        _ = try schema(
            #"{"$schema":"x","$id":"y","title":"t","description":"d","examples":[1],"x-classification":"operational","type":"string"}"#
        )
        do {
            _ = try schema(#"{"properties":{"a":{"maxLenght":3}}}"#)
            Issue.record("expected a compile error")
        } catch let error as SchemaCompileError {
            #expect(error.pointer == "/properties/a/maxLenght")
        }
    }

    @Test("violation messages never contain the instance's values")
    func messagesHaveNoValues() throws {
        let s =
            #"{"type":"object","properties":{"fnr":{"type":"string","pattern":"^[0-9]{11}$","maxLength":11},"n":{"enum":["x"]},"d":{"format":"date"}}}"#
        let found = try violations(s, #"{"fnr":"15476545657X","n":"Kari Nordmann","d":"15476545657"}"#)
        #expect(found.count == 4)
        for violation in found {
            #expect(!violation.description.contains("15476545657"))
            #expect(!violation.description.contains("Kari"))
        }
    }

    @Test("isValid agrees with validate and stops at the first violation")
    func isValidAgrees() throws {
        let s = try schema(#"{"type":"object","required":["a","b"]}"#)
        #expect(s.isValid(try StrictJSON.parse(#"{"a":1,"b":2}"#)))
        #expect(!s.isValid(try StrictJSON.parse("{}")))
    }

    /// `isValid` walks without a path (the check on every record the bridge emits); the full
    /// walk is the reference. Violations nested in objects and arrays must still be found.
    @Test("isValid agrees with validate on every contract example, valid and invalid, whole and cut down")
    func isValidAgreesOnContractExamples() throws {
        let contracts = URL(fileURLWithPath: TestPaths.contracts)
        let examples = contracts.appendingPathComponent("examples")
        var checked = 0
        var invalid = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: examples.path).sorted() {
            let schemaFile = contracts.appendingPathComponent("schemas/\(name).schema.json")
            guard FileManager.default.fileExists(atPath: schemaFile.path) else { continue }
            let compiled = try JSONSchema(compiling: try StrictJSON.parse(Array(try Data(contentsOf: schemaFile))))
            for folder in ["valid", "invalid"] {
                let directory = examples.appendingPathComponent("\(name)/\(folder)")
                let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
                for file in files.sorted() where file.hasSuffix(".json") {
                    let example = try StrictJSON.parse(
                        Array(try Data(contentsOf: directory.appendingPathComponent(file))))
                    // The example, and each top-level member emptied to a wrong type deeper down.
                    var instances = [example]
                    if case .object(let object) = example {
                        for member in object {
                            var changed = object
                            changed[member.key] = .array([.object(JSONObject()), .null])
                            instances.append(.object(changed))
                        }
                    }
                    for instance in instances {
                        let violations = compiled.validate(instance)
                        #expect(compiled.isValid(instance) == violations.isEmpty, "\(name)/\(folder)/\(file)")
                        checked += 1
                        if !violations.isEmpty { invalid += 1 }
                    }
                }
            }
        }
        #expect(checked > 200)
        #expect(invalid > 100)
    }
}
