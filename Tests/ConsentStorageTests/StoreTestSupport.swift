import ConsentBridgeTesting
import ConsentConfiguration
import ConsentContracts
import ConsentStorage
import Foundation
import Logging
import SQLKit
import Testing

/// The engines the store suites run on (SQLite always, PostgreSQL when configured).
typealias TestEngine = TestDatabaseEngine

/// A throwaway database per test: a SQLite file in a temporary folder, or a new PostgreSQL database.
struct ScratchLocations {
    let engine: TestEngine
    private let directory: URL
    private var postgresDatabases: [String] = []

    static let logger: Logger = {
        var logger = Logger(label: "consent-storage-tests")
        logger.logLevel = .error
        return logger
    }()

    init(engine: TestEngine) throws {
        self.engine = engine
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "consent-storage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    /// A new, empty database location named `name`.
    mutating func make(_ name: String) async throws -> StoreLocation {
        switch self.engine {
        case .sqlite:
            return .sqlite(path: self.directory.appendingPathComponent("\(name).sqlite").path)
        case .postgres:
            let base = try #require(TestEngine.postgresURL, "PostgreSQL URL vanished")
            let url = try await PostgresScratchDatabase.create(baseURL: base, prefix: "t_\(name)", logger: Self.logger)
            self.postgresDatabases.append(url)
            return try StoreLocation(parsing: url)
        }
    }

    func cleanUp() async {
        if let base = TestEngine.postgresURL {
            for url in self.postgresDatabases {
                await PostgresScratchDatabase.drop(url: url, baseURL: base, logger: Self.logger)
            }
        }
        try? FileManager.default.removeItem(at: self.directory)
    }
}

/// Runs `body` with a scratch-location factory and always cleans up.
func withScratch(_ engine: TestEngine, _ body: (inout ScratchLocations) async throws -> Void) async throws {
    var scratch = try ScratchLocations(engine: engine)
    do {
        try await body(&scratch)
    } catch {
        await scratch.cleanUp()
        throw error
    }
    await scratch.cleanUp()
}

/// Runs `body` with a new, empty `StoreDatabase` of `engine` (no store's schema), closed
/// afterwards whatever happens.
func withScratchDatabase(_ engine: TestEngine, _ body: (StoreDatabase) async throws -> Void) async throws {
    try await withScratch(engine) { scratch in
        let database = try await StoreDatabase.open(try await scratch.make("database"), logger: ScratchLocations.logger)
        do {
            try await body(database)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}

/// A synthetic fødselsnummer-shaped id used to prove personal data stays out of logs/errors.
let knownFodselsnummer = "12848740088"

enum Fixtures {
    static let time = Date(timeIntervalSince1970: 1_790_000_000)

    /// A decision row written straight into a bridge store (what the store's own tests need
    /// beside rows they write by hand; `message` writes it through the store).
    static func decisionRow(_ messageID: String, outcome: String = "forward", offset: Int64 = 0) -> SQLQueryString {
        """
        INSERT INTO decisions (message_id, source_topic, partition_id, source_offset, outcome, bridge_version, \
        decided_at) VALUES (\(bind: messageID), 'health.ips.outbound', 0, \(bind: offset), \(bind: outcome), 'v', \
        '2026-01-01T00:00:00.000Z')
        """
    }

    /// The repository's contracts (the published ones: sinks accept and report by them).
    static let contractsDirectory = RepositoryPaths.contractsDirectory
    static let catalog = try! ContractCatalog.load(directory: contractsDirectory)
    static let breachTopics = ["health.breaches", "nav.breaches"]
    /// A test quarantine key (never a real one).
    static let quarantineKey = SealingBox(keyID: "test-quarantine-1", keyBytes: (0..<32).map { UInt8(200 - $0) })

    /// How a test sink quarantines and reports breaches (R10).
    static func breaches(_ detector: BreachNotice.Detector) -> BreachReporting {
        BreachReporting(
            detector: detector, sealer: quarantineKey, noticeTopics: breachTopics,
            publishedTypes: Set(catalog.contracts.map(\.ceType)))
    }

    static func disclosure(
        _ id: String, subject: String, direction: String = "health-to-nav", caseReference: String? = nil
    ) -> DisclosureRecord {
        DisclosureRecord(
            disclosureID: "disclosure-\(id)", eventID: "event-\(id)", ceType: "no.ips.health.referral.v1",
            direction: direction,
            subjectID: subject, recipientRole: "ips-job-specialist", recipientOrganisation: "nav-grunerlokka",
            categories: ["identity-and-contact", "ips-participation"],
            form: caseReference == nil ? "identified" : "anonymous",
            consentID: caseReference == nil ? "consent-\(subject)" : nil,
            consentVersion: caseReference == nil ? 2 : nil,
            purpose: "ips-follow-up", caseReference: caseReference, disclosedAt: time,
            bridgeVersion: "test-1")
    }

    static func message(
        _ id: String, offset: Int64, subject: String = knownFodselsnummer, outcome: DecisionRecord.Outcome = .forward
    ) -> BridgeMessageRecord {
        let decision = DecisionRecord(
            messageID: id, sourceTopic: "health.ips.outbound", partition: 0, offset: offset,
            ceType: "no.ips.health.referral.v1",
            outcome: outcome, reasonCode: outcome == .reject ? "no-consent" : nil,
            consentID: outcome == .reject ? nil : "consent-1",
            consentVersion: outcome == .reject ? nil : 2, bridgeVersion: "test-1", decidedAt: time)
        if outcome == .reject {
            return BridgeMessageRecord(
                decision: decision,
                outbox: [
                    OutboxRecord(
                        topic: "health.ips.receipts", key: Array(id.utf8),
                        headers: [MessageHeader(name: "ce_id", text: "receipt-\(id)")],
                        payload: Array("{\"status\":\"rejected\"}".utf8))
                ],
                rejection: RejectionRecord(
                    messageID: id, ceType: "no.ips.health.referral.v1", ceSource: "epj", reasonCode: "no-consent",
                    sealedPayload: [0xde, 0xad, 0xbe, 0xef], sealingKeyID: "health-key-1", receivedAt: time))
        }
        let disclosure = self.disclosure(id, subject: subject)
        return BridgeMessageRecord(
            decision: decision,
            disclosures: [disclosure],
            outbox: [
                OutboxRecord(
                    topic: "nav.ips.inbound", key: Array("pseudonym-1".utf8),
                    headers: [
                        MessageHeader(name: "ce_id", text: id),
                        MessageHeader(name: "ce_type", text: "no.ips.health.referral.v1"),
                        MessageHeader(name: "empty", value: nil),
                    ],
                    payload: Array("{\"eventId\":\"\(id)\"}".utf8), disclosureID: disclosure.disclosureID)
            ])
    }

    static func offset(_ next: Int64, partition: Int32 = 0) -> ConsumerOffset {
        ConsumerOffset(consumerGroup: "bridge", topic: "health.ips.outbound", partition: partition, nextOffset: next)
    }

    static func event(
        topic: String, offset: Int64, ceID: String?, ceType: String?, key: String? = "participant-1",
        body: String = "{\"eventId\":\"e\"}", partition: Int32 = 0
    ) -> SinkRecord {
        var headers: [MessageHeader] = []
        if let ceID { headers.append(MessageHeader(name: "ce_id", text: ceID)) }
        if let ceType { headers.append(MessageHeader(name: "ce_type", text: ceType)) }
        return SinkRecord(
            topic: topic, partition: partition, offset: offset, key: key.map { Array($0.utf8) },
            value: Array(body.utf8), headers: headers)
    }

    static func disclosureEvent(topic: String, offset: Int64, _ record: DisclosureRecord) throws -> SinkRecord {
        disclosureEvent(topic: topic, offset: offset, notice: record.notice)
    }

    static func disclosureEvent(topic: String, offset: Int64, notice: DisclosureNotice) -> SinkRecord {
        SinkRecord(
            topic: topic, partition: 0, offset: offset, key: Array(notice.subjectID.utf8),
            value: notice.jsonValue.serializedBytes(),
            headers: [
                MessageHeader(name: "ce_id", text: "ce-\(notice.disclosureID)"),
                MessageHeader(name: "ce_type", text: DisclosureNotice.ceType),
            ])
    }

    /// The notice a NAV system's disclosures topic carries about an event it sent
    /// (`sentEventID` of `sentType`), valid by the published contract, as the bridge builds it:
    /// told to NAV (R15; `caseReference`: the form that crossed was the anonymous one), and
    /// `withheld` as the relay rewrites it when consent changed before publication (NAV is told
    /// only `not-delivered`). Its recipient is the journal's treatment team, whichever NAV system
    /// sent the event.
    static func navNotice(
        subject: String, sentEventID: String, sentType: String, caseReference: String? = nil,
        withheld: Bool = false
    ) -> DisclosureNotice {
        let notice = DisclosureNotice(
            disclosureID: UUID().uuidString.lowercased(), messageID: sentEventID, ceType: sentType,
            direction: "nav-to-health", subjectID: subject, consentID: nil, consentVersion: nil,
            recipientRoles: [ContractVocabulary.healthRecipientRole],
            categories: caseReference == nil ? ["work-status"] : [],
            form: caseReference == nil ? .full : .anonymous, caseReference: caseReference,
            disclosedFields: ["/eventId"], status: .disclosed, decidedAt: StoreTime.string(from: time),
            destinationTopic: ContractVocabulary.Topic.healthInbound, contractVersion: catalog.version
        ).toldToNAV(sentType: sentType)
        return withheld ? notice.withheld(reason: BridgeReceipt.notDelivered) : notice
    }

    /// A consent record as the EPJ publishes it: the contract's example (granted, or withdrawn),
    /// re-addressed to `patient`, under one consent id per person (a UUID, as the contract
    /// requires: a fixture breaking the contract is a consent the bridge cannot read, and a test
    /// built on it proves nothing about readable ones). `edit` changes the body further.
    static func consentEvent(
        offset: Int64, patient: String, version: Int64, status: String = "granted",
        _ edit: (inout [String: Any]) -> Void = { _ in }
    ) -> SinkRecord {
        let example = status == "withdrawn" ? "withdrawn.json" : "granted-full-written.json"
        let url = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("examples/consent/valid/\(example)")
        var object = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object["patientId"] = patient
        object["consentId"] = consentID(of: patient)
        object["version"] = version
        object["status"] = status
        edit(&object)
        let body = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return SinkRecord(
            topic: "health.consent", partition: 0, offset: offset, key: Array(patient.utf8), value: Array(body),
            headers: [
                MessageHeader(name: "ce_id", text: "consent-evt-\(offset)"),
                MessageHeader(name: "ce_type", text: "no.ips.health.consent.v1"),
                MessageHeader(name: "ce_source", text: "urn:no:epj:test"),
                MessageHeader(name: "ce_time", text: "2026-03-02T08:14:00Z"),
                MessageHeader(name: "ce_specversion", text: "1.0"),
                MessageHeader(name: "content-type", text: "application/json"),
            ])
    }

    /// The one consent id of `patient`'s consent (every version shares it), a UUID.
    static func consentID(of patient: String) -> String {
        "5e0c0a1d-0000-4000-8000-" + String(("000000000000" + patient).suffix(12))
    }
}
