import ConsentBridge
import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentPolicy
import ConsentStorage
import Foundation
import Testing

/// Every record the bridge emits is checked against its published contract before it is
/// recorded; one that breaks it turns the decision into `output-contract-violation`, and nothing
/// crosses. Disclosure notices and receipts are checked member by member
/// (`OutputContractCheck`), so this is proven here on the builder with the contract narrowed.
@Suite("A record that breaks its own contract does not cross")
struct OutputContractViolationTests {
    /// The published contracts with the disclosure notice's contract narrowed by `edit`.
    private static func narrowedContracts(_ edit: (inout [String: Any]) -> Void) throws -> (String, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("contracts-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: BridgeHarness.contractsDirectory, toPath: folder.path)
        let path = folder.appendingPathComponent("schemas/disclosure.schema.json")
        var schema = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as? [String: Any])
        edit(&schema)
        try JSONSerialization.data(withJSONObject: schema, options: [.prettyPrinted, .sortedKeys]).write(to: path)
        return (folder.path, folder)
    }

    @Test(
        "R4: a forward whose disclosure notice its contract refuses is recorded as output-contract-violation: no copy, no disclosure, a rejection receipt",
        arguments: ["a member's pattern", "a required member"])
    func noticeOffContractStopsTheForward(narrowing: String) throws {
        let (directory, folder) = try Self.narrowedContracts { schema in
            var properties = schema["properties"] as! [String: Any]
            if narrowing == "a member's pattern" {
                // No contract version the bridge writes matches.
                properties["contractVersion"] = [
                    "type": "string", "pattern": "^sha1:[0-9a-f]{40}$", "x-classification": "operational",
                ]
            } else {
                properties["signature"] = ["type": "string", "x-classification": "operational"]
                schema["required"] = (schema["required"] as! [String]) + ["signature"]
            }
            schema["properties"] = properties
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let narrowed = try PolicyCatalog.load(directory: directory)
        let published = try PolicyCatalog.load(directory: BridgeHarness.contractsDirectory)

        // The same events: forwarded under the published contracts, stopped under the narrowed.
        let forwarded = try DerivedPayloadTests.forwards(2, topics: .defaults, catalog: published, offsetBase: 0)
        #expect(forwarded.allSatisfy { $0.decision.outcome == .forward && !$0.disclosures.isEmpty })
        let stopped = try DerivedPayloadTests.forwards(2, topics: .defaults, catalog: narrowed, offsetBase: 0)
        #expect(stopped.count == 2)
        let inbound = Set([
            TopicNames.defaults.navInbound, TopicNames.defaults.followUpInbound, TopicNames.defaults.healthInbound,
        ])
        for message in stopped {
            #expect(message.decision.outcome == .reject)
            #expect(message.decision.reasonCode == RejectReason.outputContractViolation.code)
            #expect(message.disclosures.isEmpty)
            #expect(!message.outbox.contains { inbound.contains($0.topic) }, "a copy would cross")
            let receipt = try #require(message.outbox.first { $0.topic.hasSuffix("receipts") })
            #expect(try BridgeReceipt(json: try StrictJSON.parse(receipt.payload)).outcome == .rejected)
        }
    }
}
