import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentStorage
import Foundation
import Testing

/// A defect is not an outage: the pipeline stops instead of retrying or skipping, and the one
/// place operators look says so. Found the hard way: a receipt contract that did not know the
/// follow-up solution's topic stopped the NAV pipeline without a word in the logs.
@Suite("A defect stops a pipeline and says so (embedded broker; SQLite)", .timeLimit(.minutes(2)))
struct PipelineDefectTests {
    @Test(
        "Fail closed: a receipt contract that does not know a source topic stops that pipeline; nothing crosses, nothing is receipted, and a critical line names the side and the defect"
    )
    func defectStopsThePipelineAndIsLogged() async throws {
        // The published contracts, except that receipts may not name the follow-up topic.
        let contracts = FileManager.default.temporaryDirectory.appendingPathComponent(
            "contracts-defect-\(UUID().uuidString)")
        try FileManager.default.copyItem(
            at: URL(fileURLWithPath: BridgeHarness.contractsDirectory), to: contracts)
        defer { try? FileManager.default.removeItem(at: contracts) }
        let schema = contracts.appendingPathComponent("schemas/receipt.schema.json")
        let text = try String(contentsOf: schema, encoding: .utf8)
        let broken = text.replacingOccurrences(of: "\"nav.followup.outbound\",", with: "")
        try #require(broken != text, "the receipt schema no longer lists nav.followup.outbound")
        try broken.write(to: schema, atomically: true, encoding: .utf8)

        let harness = try BridgeHarness(environment: ["CONSENT_BRIDGE_CONTRACTS_DIRECTORY": contracts.path])
        try await harness.start()
        let patient = "28827240070"
        try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
        let jobStatus = try #require(
            try ContractCatalog.load(directory: BridgeHarness.contractsDirectory).contract(named: "job-status-update"))
        try await harness.publishEvent(
            topic: harness.topics.followUpOutbound, ceType: jobStatus.ceType, key: patient,
            body: try Fixtures.with(
                subject: patient, at: jobStatus.subjectPath, in: try Fixtures.validExamples(jobStatus.name)[0]))

        func stoppedLines() -> [String] { harness.logs.all.filter { $0.hasPrefix("critical Pipeline stopped") } }
        try await WholeProductTests.poll("a critical line says the pipeline stopped", timeout: .seconds(30)) {
            !stoppedLines().isEmpty
        }
        let stopped = stoppedLines()
        #expect(stopped.count == 1, "no critical line says the pipeline stopped")
        #expect(stopped.first?.contains("nav") == true, "the line names the side")
        #expect(stopped.first?.contains("failed its own contract (defect)") == true, "\(stopped)")
        // Nothing about the event crossed or was receipted; its offset is not recorded, so a
        // restart with fixed contracts decides it.
        #expect(try await harness.read(harness.topics.healthInbound, atLeast: 0).isEmpty)
        #expect(try await harness.read(harness.topics.followUpReceipts, atLeast: 0).isEmpty)
        await harness.stop()
        let store = try await harness.openBridgeStore()
        #expect(
            try await store.offsets(consumerGroup: harness.configuration.bridgeGroupID).allSatisfy {
                $0.topic != harness.topics.followUpOutbound
            })
        await store.close()
        #expect(!harness.logs.all.contains { $0.contains(patient) }, "no log line names the person")
        await harness.finish()
    }
}
