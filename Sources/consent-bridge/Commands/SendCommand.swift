import ArgumentParser
import ConsentContracts
import ConsentKafka
import ConsentSimulation
import Foundation
import Logging

/// `consent-bridge send`: publish one event the way an integration must, after checking it
/// against its contract (so a mistake is explained here, not as a rejection later).
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract:
            "Validate one event against its contract (saying which field breaks which rule), then publish it with every CloudEvents header.",
        discussion: "Exit 0: sent (its ce_id is printed). Exit 65: the event breaks its contract (nothing is sent)."
    )

    @Option(help: "The contract: a ce_type (no.ips.health.referral.v1) or a contract name (referral).")
    var type: String

    @Option(help: "The event body (JSON file).")
    var file: String

    @Option(help: "Kafka bootstrap servers (the `bootstrap:` line of `consent-bridge run --embedded true`).")
    var bootstrap: String = "127.0.0.1:9092"

    @Option(help: "Kafka key (default: the person the event names).")
    var key: String?

    @Option(help: "ce_source of the sending system (an absolute URI).")
    var source: String = "urn:consent-bridge:send"

    @Option(help: "Contracts directory.")
    var contracts: String = "Contracts"

    @Flag(help: "Only validate; send nothing.")
    var dryRun = false

    func run() async throws {
        let catalog = try ContractCatalog.load(directory: contracts)
        guard let contract = catalog.contract(forCEType: type) ?? catalog.contract(named: type) else {
            throw ValidationError("no contract has the type or name \(type) (see Contracts/asyncapi.yaml)")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("--file \(file) cannot be read")
        }
        let value: JSONValue
        do {
            value = try StrictJSON.parse(Array(data))
        } catch {
            FileHandle.standardError.write(Data("\(file) is not strict JSON: \(error)\n".utf8))
            throw ExitCode(65)
        }
        let violations = contract.schema.validate(value)
        guard violations.isEmpty else {
            var text = "\(file) breaks contract \(contract.name) (\(contract.ceType)):\n"
            for violation in violations {
                text +=
                    "  field \(violation.pointer.isEmpty ? "/" : violation.pointer): \(violation.keyword): \(violation.message)\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
            throw ExitCode(65)
        }
        var subject: JSONValue? = value
        for token in contract.subjectPath { subject = subject?.objectValue?[token] }
        let id = UUID().uuidString.lowercased()
        if dryRun {
            print("valid \(contract.ceType); not sent (--dry-run)")
            return
        }
        let logger = Logger(label: "consent-bridge.send")
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: bootstrap), logger: logger)
        let record = KafkaOutgoingRecord.cloudEvent(
            topic: contract.sourceTopic, key: key ?? subject?.stringValue, body: Array(data), type: contract.ceType,
            source: source, id: id)
        do {
            _ = try await producer.send(record)
        } catch {
            await producer.close()
            FileHandle.standardError.write(
                Data("not sent: the broker at \(bootstrap) did not take it (\(error))\n".utf8))
            throw ExitCode(1)
        }
        await producer.close()
        print("sent \(contract.ceType) to \(contract.sourceTopic): ce_id \(id)")
    }
}
