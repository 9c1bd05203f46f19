import ConsentContracts
import Foundation
import Testing

@testable import ConsentContractsLint

/// `consent-bridge contracts check` must pass on the repository and fail, with every problem
/// listed, on a broken copy: an unclassified field or an unknown category would let content
/// cross without a consent rule (R1, R6, R8), an example in the wrong folder would hide a hole.
@Suite("contracts check (linter)")
struct ContractsCheckTests {
    static let repositoryContracts: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Contracts"
    }()

    /// A private copy of `Contracts/` in a temporary directory.
    private func copyOfContracts() throws -> String {
        let target = FileManager.default.temporaryDirectory
            .appendingPathComponent("contracts-lint-\(UUID().uuidString)").path
        // Resolve symlinks first: copying a link would let the edits below reach the real files.
        let source = URL(fileURLWithPath: Self.repositoryContracts).resolvingSymlinksInPath().path
        try FileManager.default.copyItem(atPath: source, toPath: target)
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        try #require(attributes[.type] as? FileAttributeType == .typeDirectory)
        return target
    }

    private func edit(_ path: String, _ change: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted]).write(
            to: URL(fileURLWithPath: path))
    }

    @Test("passes on the repository's contracts")
    func repositoryPasses() {
        let report = ContractsCheck.run(directory: Self.repositoryContracts)
        #expect(report.isPassing, "\(report.diagnostics.map(\.description).joined(separator: "\n"))")
        #expect(report.schemaCount >= 13)
        #expect(report.channelCount == 16)
        #expect(report.exampleCount > 20)
    }

    @Test("R1/R6/R8: a broken copy fails with every diagnostic, not just the first")
    func brokenCopyFailsWithAllDiagnostics() throws {
        let directory = try copyOfContracts()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 1. An unclassified property and an unknown consent category in the referral.
        try edit(directory + "/schemas/referral.schema.json") { schema in
            var properties = schema["properties"] as! [String: Any]
            var eventId = properties["eventId"] as! [String: Any]
            eventId.removeValue(forKey: "x-classification")
            properties["eventId"] = eventId
            var patient = properties["patient"] as! [String: Any]
            var patientProperties = patient["properties"] as! [String: Any]
            var fnr = patientProperties["fodselsnummer"] as! [String: Any]
            fnr["x-consent-category"] = "everything"
            patientProperties["fodselsnummer"] = fnr
            patient["properties"] = patientProperties
            properties["patient"] = patient
            schema["properties"] = properties
            schema["x-subject-field"] = "/patient/personnummer"
        }
        // 2. A NAV follow-up note that would cross to health (R3).
        try edit(directory + "/schemas/follow-up-note.schema.json") { schema in
            schema["x-destination-topic"] = "health.ips.inbound"
        }
        // 3. An invalid example that passes and a valid example that fails.
        let invalidFolder = directory + "/examples/consent/invalid"
        let validExample = try #require(
            try FileManager.default.contentsOfDirectory(atPath: directory + "/examples/consent/valid").first)
        try FileManager.default.copyItem(
            atPath: directory + "/examples/consent/valid/" + validExample,
            toPath: invalidFolder + "/actually-valid.json")
        try edit(directory + "/examples/consent/valid/" + validExample) { example in example["unexpected"] = true }
        // 4. asyncapi.yaml: the consent topic no longer compacted, a channel for an unknown topic.
        let asyncAPIPath = directory + "/asyncapi.yaml"
        var yaml = try String(contentsOfFile: asyncAPIPath, encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "cleanup.policy: [compact]", with: "cleanup.policy: [delete]")
        yaml = yaml.replacingOccurrences(of: "address: bridge.rejected", with: "address: bridge.rejekted")
        try yaml.write(toFile: asyncAPIPath, atomically: true, encoding: .utf8)

        let report = ContractsCheck.run(directory: directory)
        #expect(!report.isPassing)
        let lines = report.diagnostics.map(\.description)
        func has(_ file: String, _ pointer: String, _ fragment: String) -> Bool {
            report.diagnostics.contains { $0.file == file && $0.pointer == pointer && $0.message.contains(fragment) }
        }
        #expect(has("schemas/referral.schema.json", "/properties/eventId", "no x-classification"), "\(lines)")
        #expect(
            has(
                "schemas/referral.schema.json", "/properties/patient/properties/fodselsnummer/x-consent-category",
                "unknown consent category"), "\(lines)")
        #expect(has("schemas/referral.schema.json", "/x-subject-field", "points to no property"), "\(lines)")
        #expect(
            has("schemas/follow-up-note.schema.json", "/x-destination-topic", "must not have a destination"), "\(lines)"
        )
        #expect(has("examples/consent/invalid/actually-valid.json", "", "invalid example passes"), "\(lines)")
        #expect(
            has("examples/consent/valid/" + validExample, "/unexpected", "valid example fails additionalProperties"),
            "\(lines)")
        #expect(
            has(
                "asyncapi.yaml", "/channels/healthConsent/bindings/kafka/topicConfiguration/cleanup.policy",
                "health.consent must be [compact]"), "\(lines)")
        #expect(has("asyncapi.yaml", "/channels/bridgeRejected/address", "not a topic"), "\(lines)")
        #expect(has("asyncapi.yaml", "/channels", "no channel for topic bridge.rejected"), "\(lines)")
        // The referral failed to load, so its examples are reported as orphaned and asyncapi
        // points at a schema that no longer loads: both are listed too.
        #expect(has("examples/referral", "", "unknown or unloadable contract"), "\(lines)")
    }

    @Test("a schema without any AsyncAPI message and a ce_type mismatch are reported")
    func asyncAPIConsistency() throws {
        let directory = try copyOfContracts()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var yaml = try String(contentsOfFile: directory + "/asyncapi.yaml", encoding: .utf8)
        yaml = yaml.replacingOccurrences(of: "const: no.ips.nav.job-status.v1", with: "const: no.ips.nav.job-status.v2")
        try yaml.write(toFile: directory + "/asyncapi.yaml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: directory + "/schemas/receipt.schema.json", toPath: directory + "/schemas/receipt-copy.schema.json")
        try edit(directory + "/schemas/receipt-copy.schema.json") { schema in
            schema["x-ce-type"] = "no.ips.bridge.receipt-copy.v1"
        }
        let report = ContractsCheck.run(directory: directory)
        #expect(
            report.diagnostics.contains {
                $0.file == "schemas/receipt-copy.schema.json" && $0.message.contains("no AsyncAPI message")
            })
        #expect(
            report.diagnostics.contains {
                $0.pointer == "/components/messages/jobStatusUpdate/headers/properties/ce_type/const"
            })
        #expect(
            report.diagnostics.contains {
                $0.file == "examples/receipt-copy/valid" && $0.message.contains("no valid examples")
            })
    }

    @Test("YAML with duplicate keys is refused (fail closed), order is kept")
    func yamlStrictness() throws {
        #expect(throws: YAMLDocument.LoadError.self) { try YAMLDocument.parse("a: 1\na: 2\n") }
        let value = try YAMLDocument.parse("b: 1\na: [x, 2.5, true, null]\n")
        #expect(value.objectValue?.keys == ["b", "a"])
        #expect(value.objectValue?["a"] == .array([.string("x"), .number(2.5), .bool(true), .null]))
    }
}

@Suite("AsyncAPI topics for the broker")
struct AsyncAPITopicsTests {
    @Test("every ARCHITECTURE.md topic is listed; health.consent is compacted (latest consent per patient, R5)")
    func topicsFromAsyncAPI() throws {
        let topics = try AsyncAPITopics.load(contractsDirectory: ContractsCheckTests.repositoryContracts)
        #expect(Set(topics.map(\.name)) == ContractVocabulary.topics)
        #expect(topics.first { $0.name == "health.consent" }?.cleanupPolicy == "compact")
        #expect(topics.allSatisfy { $0.partitions >= 1 })
    }

    @Test("the consent envelope the bridge and the journal require names the published consent contract's ce_type")
    func consentTypeIsThePublishedOne() throws {
        let catalog = try ContractCatalog.load(directory: ContractsCheckTests.repositoryContracts)
        #expect(catalog.contracts.filter { $0.direction == .consent }.map(\.ceType) == [ContractVocabulary.consentType])
    }
}
