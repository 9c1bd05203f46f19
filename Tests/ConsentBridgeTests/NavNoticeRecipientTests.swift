import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentKafka
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// R4/R11: a disclosure notice says who received what crossed. For what a NAV system sent that
/// is the health service's treatment team (its journal), never the NAV role that sent it.
@Suite("Recipients of what NAV sent (bridge and sinks, embedded broker, SQLite)", .serialized, .timeLimit(.minutes(4)))
struct NavNoticeRecipientTests {
    @Test(
        "R4/R11: every NAV→health type, identified or anonymous: the notice NAV's system receives, valid by the published contract, names the treatment team as recipient, never NAV's own role; so do NAV's access reports and the bridge's disclosure log"
    )
    func R4_navNoticesNameTheHealthRecipient() async throws {
        let harness = try BridgeHarness(roles: WholeProductTests.allRoles)
        try await harness.start()
        let catalog = try ContractCatalog.load(directory: BridgeHarness.contractsDirectory)
        let consented = BridgeCrashTests.syntheticFodselsnummer(index: 300)
        let unconsented = BridgeCrashTests.syntheticFodselsnummer(index: 301)
        try await harness.publishConsent(patient: consented, try Fixtures.consent(patient: consented))
        // Every type a NAV system sends the health service, from the system whose role sends it,
        // about a person whose consent lets it cross identified and about one without consent
        // (anonymous form where the contract has one, otherwise refused: no notice).
        let navToHealth = catalog.contracts.filter { $0.direction == .navToHealth }
        #expect(Set(navToHealth.map(\.sourceTopic)) == [harness.topics.navOutbound, harness.topics.followUpOutbound])
        for contract in navToHealth {
            let example = try #require(try Fixtures.validExamples(contract.name).first, "\(contract.name)")
            for person in [consented, unconsented] {
                try await harness.publishEvent(
                    topic: contract.sourceTopic, ceType: contract.ceType, key: person,
                    body: try Fixtures.with(subject: person, at: contract.subjectPath, in: example))
            }
        }
        let bridgeStore = try await harness.openBridgeStore()
        try await WholeProductTests.poll("every event is decided and the relay publishes every recorded row") {
            let decided = try await WholeProductTests.count(
                bridgeStore.database, "SELECT COUNT(*) AS n FROM decisions")
            let pending = try await WholeProductTests.count(
                bridgeStore.database, "SELECT COUNT(*) AS n FROM outbox_status WHERE status = 'pending'")
            return decided == 2 * navToHealth.count && pending == 0
        }
        // The bridge's own disclosure log (R4), identified and anonymous alike.
        let logged = try await bridgeStore.database.read { sql in
            try await sql.raw(
                """
                SELECT recipient_role FROM disclosures WHERE direction = 'nav-to-health'
                UNION ALL SELECT recipient_role FROM anonymous_disclosures WHERE direction = 'nav-to-health'
                """
            ).all().map { try $0.decode(column: "recipient_role", as: String.self) }
        }
        await bridgeStore.close()
        var notices: [String: [KafkaRecord]] = [:]
        for topic in [harness.topics.navDisclosures, harness.topics.followUpDisclosures] {
            notices[topic] = try await harness.read(topic, atLeast: 0)
        }

        // What each NAV system's sink filed, and its access reports (R11).
        let stores = [
            (
                harness.topics.navDisclosures,
                try await NavSystemStore.open(
                    .sqlite(path: harness.directory + "/nav.sqlite"), logger: Logger(label: "inspect"))
            ),
            (
                harness.topics.followUpDisclosures,
                try await NavSystemStore.open(
                    .sqlite(path: harness.directory + "/followup.sqlite"), policy: .followUpStandard,
                    logger: Logger(label: "inspect"))
            ),
        ]
        var shared: [[String]] = []
        for (topic, store) in stores {
            try await WholeProductTests.poll("\(topic)'s sink files every notice") {
                let filed =
                    try await store.disclosures(participantID: consented)
                    + store.disclosures(participantID: unconsented)
                return filed.count == notices[topic, default: []].count
            }
            for person in [consented, unconsented] {
                let report = try await store.accessReport(personID: person)
                let section = try #require(report.sections.first { $0.title == "shared with the health service" })
                #expect(Array(section.columns[2...3]) == ["recipient role", "recipient"])
                shared += section.rows.map { Array($0[2...3]) }
            }
            await store.close()
        }
        await harness.finish()

        let disclosure = try #require(catalog.contract(forCEType: DisclosureNotice.ceType))
        let all = notices.values.flatMap { $0 }
        var types: Set<String> = []
        for record in all {
            let value = try StrictJSON.parse(record.value ?? [])
            #expect(disclosure.schema.validate(value).isEmpty, "\(record.topic): a notice breaks its contract")
            let notice = try DisclosureNotice(json: value)
            types.insert(notice.ceType)
            #expect(notice.direction == "nav-to-health")
            #expect(
                notice.recipientRoles == ["treatment-team"],
                "\(notice.ceType) on \(record.topic): the recipient is \(notice.recipientRoles), the sender's own role")
        }
        // Every NAV→health type was told to its sender, and the anonymous form too (R2).
        #expect(types == Set(navToHealth.map(\.ceType)))
        #expect(all.count > navToHealth.count, "the unconsented person's anonymous form has a notice too")
        #expect(logged.count == all.count && logged.allSatisfy { $0 == "treatment-team" }, "\(logged)")
        #expect(shared.count == all.count && shared.allSatisfy { $0 == ["treatment-team", "helsetjenesten"] })
    }
}
