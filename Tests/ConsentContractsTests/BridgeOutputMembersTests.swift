import Foundation
import Testing

@testable import ConsentContracts

/// The bridge writes every disclosure notice and receipt straight from its members, and checks
/// it member by member (`OutputContractCheck`), without building a JSON tree. What it publishes
/// and what it lets through must be exactly what the tree gave: the same bytes, and the same
/// verdict as the compiled schema on the tree (R4: the journal refuses a notice off contract).
@Suite("Notices and receipts written and checked without a tree")
struct BridgeOutputMembersTests {
    private static func load(_ name: String) throws -> JSONSchema {
        let text = try String(contentsOfFile: TestPaths.contracts + "/schemas/\(name).schema.json", encoding: .utf8)
        return try JSONSchema(compiling: try StrictJSON.parse(text))
    }

    private static func examples(_ folder: String) throws -> [JSONValue] {
        let directory = TestPaths.contracts + "/examples/\(folder)/valid"
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted().map {
            try StrictJSON.parse(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + $0))))
        }
    }

    /// Deterministic values, awkward ones included: quotes, backslashes, control characters,
    /// non-ASCII letters and emoji, empty strings (what the writer must escape exactly as the
    /// tree's serializer does).
    private struct Values: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        static let pieces = [
            "a", "Z", "0", "-", "/", "\"", "\\", "\n", "\u{01}", "\u{1F}", "æøå", "é", "🙂", " ", "~1", "sha256:",
        ]

        mutating func string() -> String {
            (0..<Int.random(in: 0...12, using: &self)).map { _ in Self.pieces.randomElement(using: &self)! }.joined()
        }

        mutating func strings() -> [String] { (0..<Int.random(in: 0...4, using: &self)).map { _ in string() } }

        mutating func maybe(_ make: (inout Values) -> String) -> String? {
            Bool.random(using: &self) ? make(&self) : nil
        }
    }

    private static func randomNotice(_ values: inout Values) -> DisclosureNotice {
        DisclosureNotice(
            disclosureID: values.string(), messageID: values.string(), ceType: values.string(),
            direction: values.string(), subjectID: values.string(), consentID: values.maybe { $0.string() },
            consentVersion: Bool.random(using: &values) ? Int64.random(in: -3...Int64.max, using: &values) : nil,
            recipientRoles: values.strings(), categories: values.strings(),
            form: [.full, .anonymous, .asConsented].randomElement(using: &values)!,
            caseReference: values.maybe { $0.string() }, disclosedFields: values.strings(),
            status: Bool.random(using: &values) ? .disclosed : .withheld, withheldReason: values.maybe { $0.string() },
            decidedAt: values.string(), destinationTopic: values.string(), contractVersion: values.string())
    }

    private static func randomReceipt(_ values: inout Values) -> BridgeReceipt {
        BridgeReceipt(
            messageID: values.string(), forwardedID: values.maybe { $0.string() }, ceType: values.maybe { $0.string() },
            outcome: [.accepted, .anonymized, .rejected, .withheld].randomElement(using: &values)!,
            reasonCode: values.string(), decidedAt: values.string(), contractVersion: values.string(),
            source: SourcePosition(
                topic: values.string(), partition: Int32.random(in: -2...200_000, using: &values),
                offset: Int64.random(in: -2...Int64.max, using: &values)))
    }

    @Test(
        "The bytes written from the members are the tree's serialization, byte for byte (2,000 records, awkward text)")
    func bytesEqualTheTrees() throws {
        var values = Values(state: 18)
        for _ in 0..<1_000 {
            let notice = Self.randomNotice(&values)
            #expect(notice.serializedBytes() == notice.jsonValue.serializedBytes())
            let receipt = Self.randomReceipt(&values)
            #expect(receipt.serializedBytes() == receipt.jsonValue.serializedBytes())
        }
        // The published examples (written by hand, not by this encoder) come out as they are.
        for example in try Self.examples("disclosure") {
            let written = try DisclosureNotice(json: example).serializedBytes()
            #expect(JSONEquality.equal(try StrictJSON.parse(written), example))
        }
        for example in try Self.examples("receipt") {
            let written = try BridgeReceipt(json: example).serializedBytes()
            #expect(JSONEquality.equal(try StrictJSON.parse(written), example))
        }
    }

    /// Each valid example of `folder` read as a record, and copies of it with one member broken
    /// by each of `breakages` in turn.
    private static func cases<Record>(
        _ folder: String, _ read: (JSONValue) throws -> Record, breaking breakages: [(inout Record) -> Void]
    ) throws -> [Record] {
        var cases: [Record] = []
        for example in try examples(folder) {
            let record = try read(example)
            cases.append(record)
            for breakIt in breakages {
                var copy = record
                breakIt(&copy)
                cases.append(copy)
            }
        }
        return cases
    }

    private static func noticeCases() throws -> [DisclosureNotice] {
        try cases(
            "disclosure", { try DisclosureNotice(json: $0) },
            breaking: [
                { $0.disclosureID = "not-a-uuid" }, { $0.messageID = "" },
                { $0.messageID = String(repeating: "m", count: 201) },
                { $0.messageID = String(repeating: "é", count: 200) }, { $0.ceType = "no.ips.Referral.v1" },
                { $0.direction = "sideways" }, { $0.subjectID = "1234567890" }, { $0.consentID = "x" },
                { $0.consentVersion = 0 }, { $0.recipientRoles = [] },
                { $0.recipientRoles = ["ips-job-specialist", "ips-job-specialist"] }, { $0.recipientRoles = ["boss"] },
                { $0.categories = ["work-status", "work-status"] }, { $0.categories = ["everything"] },
                { $0.caseReference = "case-1" }, { $0.disclosedFields = ["no-slash"] },
                { $0.disclosedFields = ["/" + String(repeating: "a", count: 300)] },
                { $0.withheldReason = "Free Text" },
                { $0.decidedAt = "2026-13-01T00:00:00Z" }, { $0.destinationTopic = "somewhere.else" },
                { $0.contractVersion = "sha256:abc" },
            ])
    }

    private static func receiptCases() throws -> [BridgeReceipt] {
        try cases(
            "receipt", { try BridgeReceipt(json: $0) },
            breaking: [
                { $0.messageID = "" }, { $0.forwardedID = "123" }, { $0.ceType = "unknown-xyz" },
                { $0.ceType = "unknown-0123abcd" }, { $0.reasonCode = "Consent missing" },
                { $0.reasonCode = String(repeating: "a", count: 101) }, { $0.decidedAt = "yesterday" },
                { $0.contractVersion = "" }, { $0.source.topic = "nav.ips.inbound" }, { $0.source.partition = -1 },
                { $0.source.partition = 100_001 }, { $0.source.offset = -1 },
            ])
    }

    @Test(
        "R4: on the published contracts the member-by-member check says what the schema says of the tree, for valid records, broken ones and random ones"
    )
    func checkAgreesWithTheSchema() throws {
        let noticeSchema = try Self.load("disclosure")
        let receiptSchema = try Self.load("receipt")
        let noticeCheck = try #require(OutputContractCheck<DisclosureNotice>(noticeSchema))
        let receiptCheck = try #require(OutputContractCheck<BridgeReceipt>(receiptSchema))
        var values = Values(state: 7)
        var verdicts: [Bool] = []
        for notice in try Self.noticeCases() + (0..<300).map({ _ in Self.randomNotice(&values) }) {
            let expected = noticeSchema.isValid(notice.jsonValue)
            #expect(noticeCheck.conforms(notice) == expected, "\(notice)")
            verdicts.append(expected)
        }
        for receipt in try Self.receiptCases() + (0..<300).map({ _ in Self.randomReceipt(&values) }) {
            let expected = receiptSchema.isValid(receipt.jsonValue)
            #expect(receiptCheck.conforms(receipt) == expected, "\(receipt)")
            verdicts.append(expected)
        }
        // Both verdicts were exercised: the five valid examples pass, and of the broken copies
        // only those meant to stay valid (a 200-letter `messageId` of two-byte letters: the limit
        // counts characters; a digest-form unknown `ceType` in a receipt), five in all.
        #expect(verdicts.filter { $0 }.count == 10)
        #expect(verdicts.count > 600)
    }

    @Test(
        "A schema asking for what a record never holds, or forbidding what it always holds, refuses it as the tree's check does"
    )
    func narrowedSchemas() throws {
        let receipt = try BridgeReceipt(json: try #require(try Self.examples("receipt").first))
        func verdicts(_ schemaText: String) throws -> (check: Bool?, tree: Bool) {
            let schema = try JSONSchema(compiling: try StrictJSON.parse(schemaText))
            return (OutputContractCheck<BridgeReceipt>(schema)?.conforms(receipt), schema.isValid(receipt.jsonValue))
        }
        // A required member the receipt never has (declared; an undeclared one is checked by name,
        // which only the tree's check does).
        let extraRequired = try verdicts(
            #"{"type":"object","properties":{"messageId":{},"signature":{}},"required":["messageId","signature"]}"#)
        #expect(extraRequired.check == false && extraRequired.tree == false)
        // Members not declared and not allowed.
        let closed = try verdicts(
            #"{"type":"object","properties":{"messageId":{"type":"string"}},"additionalProperties":false}"#)
        #expect(closed.check == false && closed.tree == false)
        // Members not declared, allowed when they meet a schema: the source object does not.
        let typed = try verdicts(#"{"type":"object","additionalProperties":{"type":"string"}}"#)
        #expect(typed.check == false && typed.tree == false)
        let open = try verdicts(#"{"type":"object","additionalProperties":true}"#)
        #expect(open.check == true && open.tree == true)
        // A root that is not a plain object schema: no member check (the caller checks the tree).
        for root in [
            #"{"type":"string"}"#, ##"{"$ref":"#/$defs/r","$defs":{"r":{"type":"object"}}}"##, #"{"enum":[1]}"#,
            #"{"const":1}"#, "false", #"{"type":"object","required":["signature"]}"#,
        ] {
            let schema = try JSONSchema(compiling: try StrictJSON.parse(root))
            #expect(OutputContractCheck<BridgeReceipt>(schema) == nil, "\(root)")
        }
    }
}
