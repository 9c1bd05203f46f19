import ConsentBridge
import ConsentConfiguration
import ConsentKafka
import Foundation
import Testing

/// R14 end to end: only referrals from teams with an IPS agreement cross; the registry is
/// data the operators change while the bridge runs.
@Suite("IPS agreements registry end to end (embedded broker; SQLite)", .serialized, .timeLimit(.minutes(4)))
struct AgreementRegistryTests {
    static let bergen = #"{"teamId": "act-bergen-nord", "organisationNumber": "983974724", "validFrom": "2025-01-01"}"#
    static let oslo = #"{"teamId": "fact-oslo-sentrum", "organisationNumber": "974589095", "validFrom": "2025-01-01"}"#

    private static func write(_ text: String, to path: String) throws {
        // Written aside and moved in, as an operator's deployment would: never half a file.
        try Data(text.utf8).write(to: URL(fileURLWithPath: path + ".new"))
        guard rename(path + ".new", path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    private func outcome(_ harness: BridgeHarness, _ id: String, receipts count: Int) async throws -> String? {
        let receipts = try await harness.read(harness.topics.healthReceipts, atLeast: count)
        let receipt = receipts.first { $0.key == Array(id.utf8) }
        let body = try receipt.flatMap {
            try JSONSerialization.jsonObject(with: Data($0.value ?? [])) as? [String: Any]
        }
        return body?["reasonCode"] as? String
    }

    @Test(
        "R14: a referral from a team without an agreement is rejected while one with an agreement crosses; an unreadable registry stops referrals only; a fixed one lets them through again"
    )
    func R14_onlyAgreedTeamsRefer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agreements-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let registry = directory + "/ips-agreements.json"
        try Self.write(#"{"agreements": [\#(Self.bergen)]}"#, to: registry)
        let harness = try BridgeHarness(environment: ["CONSENT_BRIDGE_AGREEMENTS_REGISTRY": registry])
        try await harness.start()
        let bergenPatient = "03919540000"
        let osloPatient = "12848740088"
        for patient in [bergenPatient, osloPatient] {
            try await harness.publishConsent(patient: patient, try Fixtures.consent(patient: patient))
        }
        func referral(_ example: String) throws -> [UInt8] {
            var object = try Fixtures.json("referral/valid/\(example).json")
            object["eventId"] = UUID().uuidString.lowercased()
            return try Fixtures.bytes(object)
        }
        func send(_ example: String, _ patient: String) async throws -> String {
            try await harness.publishEvent(
                topic: harness.topics.healthOutbound, ceType: "no.ips.health.referral.v1", key: patient,
                body: try referral(example))
        }
        let fromBergen = try await send("not-sick-listed-minimal", bergenPatient)
        let fromOslo = try await send("sick-listed-with-method-supervisor-assessment", osloPatient)
        #expect(try await outcome(harness, fromBergen, receipts: 2) == "accepted")
        #expect(try await outcome(harness, fromOslo, receipts: 2) == "no-ips-agreement")

        // The registry breaks: referrals stop, other traffic goes on.
        try Self.write(#"{"agreements": [\#(Self.bergen),"#, to: registry)
        try await Task.sleep(for: .seconds(3))
        let whileBroken = try await send("not-sick-listed-minimal", bergenPatient)
        let information = try await harness.publishEvent(
            topic: harness.topics.healthOutbound, ceType: BridgeRedriveTests.ceType, key: BridgeRedriveTests.patient,
            body: try BridgeRedriveTests.information())
        #expect(try await outcome(harness, whileBroken, receipts: 4) == "no-ips-agreement")
        #expect(
            try await outcome(harness, information, receipts: 4) != nil,
            "non-referral traffic stopped with the registry")

        // Fixed, with Oslo's agreement added: both teams refer again.
        try Self.write(#"{"agreements": [\#(Self.bergen), \#(Self.oslo)]}"#, to: registry)
        try await Task.sleep(for: .seconds(3))
        let osloAgain = try await send("sick-listed-with-method-supervisor-assessment", osloPatient)
        let bergenAgain = try await send("not-sick-listed-minimal", bergenPatient)
        #expect(try await outcome(harness, osloAgain, receipts: 6) == "accepted")
        #expect(try await outcome(harness, bergenAgain, receipts: 6) == "accepted")
        let forwarded = try await harness.read(harness.topics.followUpInbound, atLeast: 3)
        let logs = harness.logs.all
        await harness.finish()
        #expect(forwarded.filter { $0.headers.string(named: "ce_type") == "no.ips.health.referral.v1" }.count == 3)
        #expect(logs.contains { $0.contains("IPS agreements registry unreadable") })
    }
}
