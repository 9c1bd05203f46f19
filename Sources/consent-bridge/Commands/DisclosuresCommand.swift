import ArgumentParser
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge disclosures --patient ID`: what the health journal recorded as disclosed
/// about one patient (DOMAIN.md R4, GDPR art. 15).
///
/// Exit codes: 0 report printed (also "no disclosures" for a patient the journal knows),
/// 64 invalid id, 3 the journal has no records at all for the id, 1 store problem.
struct DisclosuresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disclosures",
        abstract: "List everything disclosed about one patient, from the health journal store.",
        discussion: """
            The health journal store is --health-store, else CONSENT_BRIDGE_HEALTH_STORE, else
            <data directory>/health.sqlite (--data-directory, CONSENT_BRIDGE_DATA_DIRECTORY, default `data`).
            Exit codes: 0 report printed; 3 no records for this patient; 64 invalid patient id; 1 store error.
            """
    )

    @Option(help: "The patient's fødselsnummer or D-number (11 digits, valid check digits).")
    var patient: String

    @Option(help: "Output format: table, json or csv.")
    var format: DisclosureReport.Format = .table

    @Option(help: "Health journal store: a SQLite path or a postgres:// URL.")
    var healthStore: String?

    @Option(help: "Data directory holding the embedded SQLite stores.")
    var dataDirectory: String?

    @Flag(help: "Accept synthetic test identity numbers (month + 40 or + 80); for test environments only.")
    var allowSyntheticIds = false

    func validate() throws {
        try PatientArgument.validate(patient, allowSynthetic: allowSyntheticIds)
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let dataDirectory = self.dataDirectory ?? environment["CONSENT_BRIDGE_DATA_DIRECTORY"] ?? "data"
        let configured = self.healthStore ?? environment["CONSENT_BRIDGE_HEALTH_STORE"]
        var logger = Logger(label: "consent-bridge.disclosures")
        logger.logLevel = .warning
        let output: DisclosureReport.Output
        do throws(StorageError) {
            let location: ConsentStorage.StoreLocation =
                try configured.map { text throws(StorageError) in try ConsentStorage.StoreLocation(parsing: text) }
                ?? ConsentStorage.StoreLocations.sqlite(dataDirectory: dataDirectory).healthJournal
            output = try await DisclosureReport.run(
                patientID: self.patient, format: self.format, healthStore: location, logger: logger)
        } catch {
            FileHandle.standardError.write(Data("disclosures: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        switch output {
        case .report(let text):
            print(text, terminator: "")
        case .noDisclosures(let message):
            print(message)
        case .unknownPatient(let message):
            FileHandle.standardError.write(Data((message + "\n").utf8))
            throw ExitCode(3)
        }
    }
}

extension DisclosureReport.Format: ExpressibleByArgument {}
