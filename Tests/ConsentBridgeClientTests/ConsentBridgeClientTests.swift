import ConsentBridgeClient
import ConsentContracts
import ConsentContractsLint
import ConsentKafka
import Foundation
import Logging
import Testing

/// The producer library as an integrator uses it: typed messages that are exactly the
/// published contracts, checked before they leave, sent the way the bridge reads them.
@Suite("Producer library for integrators")
struct ConsentBridgeClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var contracts: String { root.appendingPathComponent("Contracts").path }

    @Test(
        "The typed messages are generated from the contracts as committed (run `contracts swift-types --write` after a contract change)"
    )
    func generatedTypesAreCurrent() throws {
        let generated = try SwiftMessageTypes.generate(
            try SwiftMessageTypes.loadSchemas(directory: Self.contracts + "/schemas"))
        let committed = try String(
            contentsOf: Self.root.appendingPathComponent("Sources/ConsentBridgeClient/Generated/Messages.swift"),
            encoding: .utf8)
        #expect(generated == committed)
    }

    /// Decodes `data` as `type` and encodes it again.
    private func roundTrip<M: IPSMessage>(_ type: M.Type, _ data: Data) throws -> Data {
        let message = try JSONDecoder().decode(M.self, from: data)
        try message.validate()
        return try JSONEncoder().encode(message)
    }

    @Test(
        "Every valid example of every contract an integrator sends is a typed message, and encodes back to the same JSON"
    )
    func everyValidExampleRoundTrips() throws {
        var checked = 0
        for type in IPSMessages.all {
            let folder = URL(fileURLWithPath: Self.contracts).appendingPathComponent(
                "examples/\(type.contractName)/valid")
            for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) where file.hasSuffix(".json") {
                let data = try Data(contentsOf: folder.appendingPathComponent(file))
                let again = try roundTrip(type, data)
                #expect(
                    JSONEquality.equal(try StrictJSON.parse(Array(data)), try StrictJSON.parse(Array(again))),
                    "\(type.contractName)/\(file)")
                checked += 1
            }
        }
        #expect(IPSMessages.all.count == 10 && checked >= 20)
    }

    static func referral(fodselsnummer: String = "03919540000", motivation: String? = nil) -> Referral {
        Referral(
            eventId: UUID().uuidString.lowercased(),
            referringTeam: .init(
                teamId: "fact-oslo-ost", organisationNumber: "974589095", unitName: "FACT-team Oslo øst"),
            patient: .init(fodselsnummer: fodselsnummer),
            referral: .init(referredOn: "2026-11-02", sickListed: false, motivation: motivation))
    }

    @Test("A message that breaks its contract is refused with every field and rule at once, and no value in the error")
    func invalidMessagesNameEveryFieldAndRule() throws {
        let broken = Self.referral(fodselsnummer: "1234", motivation: String(repeating: "x", count: 5000))
        let error = try #require(throws: IPSValidationError.self) { try broken.validate() }
        #expect(error.contract == "referral")
        let pointers = Set(error.fields.map(\.pointer))
        #expect(pointers.contains("/patient/fodselsnummer"))
        #expect(pointers.contains("/referral/motivation"))
        #expect(error.fields.contains { $0.pointer == "/patient/fodselsnummer" && $0.rule == "pattern" })
        #expect(!error.description.contains("1234") && !error.description.contains("xxxx"))
        try Self.referral().validate()
    }

    @Test(
        "send publishes a checked message with every CloudEvents header once (ce_id its eventId), keyed by the person, on the contract's topic; a broken one, or one asked to go under an id the bridge refuses, is not sent"
    )
    func producerSendsWhatTheBridgeReads() async throws {
        let logger = Logger(label: "client-test") { _ in SwiftLogNoOpLogHandler() }
        let cluster = try EmbeddedKafkaCluster(brokers: 1, logger: logger)
        defer { cluster.shutdown() }
        try cluster.createTopic("health.ips.outbound", partitions: 1)
        let producer = try IPSProducer(bootstrapServers: cluster.bootstrapServers, source: "urn:no:test:epj")
        let message = Self.referral()
        let id = try await producer.send(message)
        #expect(id == message.eventId)
        await #expect(throws: IPSValidationError.self) { try await producer.send(Self.referral(fodselsnummer: "1234")) }
        for refused in ["Kari.Nordmann", "evt-1", "{\(message.eventId)}"] {
            await #expect(throws: IPSProducerError.self) { try await producer.send(message, id: refused) }
        }
        await producer.close()
        #expect(throws: IPSProducerError.self) {
            try IPSProducer(bootstrapServers: cluster.bootstrapServers, source: "not a uri")
        }

        let consumer = try KafkaConsumer(
            configuration: .init(
                client: .init(bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "10"]),
                groupID: "client-test",
                topics: ["health.ips.outbound"]),
            logger: logger)
        try consumer.start()
        var records: [KafkaRecord] = []
        for try await batch in consumer.batches {
            records += batch
            if !records.isEmpty { break }
        }
        let admin = try KafkaAdmin(configuration: .init(bootstrapServers: cluster.bootstrapServers), logger: logger)
        let high = try await admin.highWatermarks(topic: "health.ips.outbound", partitions: [0])
        await admin.close()
        await consumer.close()

        #expect(high[0] == 1, "only the valid message was sent")
        let record = try #require(records.first)
        #expect(record.key == Array("03919540000".utf8))
        for name in ["ce_id", "ce_type", "ce_source", "ce_time", "ce_specversion", "content-type"] {
            #expect(record.headers.filter { $0.name == name }.count == 1, "\(name)")
        }
        #expect(record.headers.string(named: "ce_id") == id)
        #expect(record.headers.string(named: "ce_type") == "no.ips.health.referral.v1")
        let sent = try JSONDecoder().decode(Referral.self, from: Data(record.value ?? []))
        #expect(sent.patient.fodselsnummer == message.patient.fodselsnummer && sent.eventId == message.eventId)
    }
}
