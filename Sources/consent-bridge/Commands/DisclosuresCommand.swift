import ArgumentParser
import ConsentConfiguration
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge disclosures --patient ID`: what the health journal recorded as disclosed
/// about one patient (docs/rules.md R4, GDPR art. 15).
///
/// Exit codes: 0 report printed (also "no disclosures" for a patient the journal knows),
/// 64 invalid id, 3 the journal has no records at all for the id, 1 store problem.
struct DisclosuresCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disclosures",
        abstract: "List everything disclosed about one patient, from the health journal store.",
        discussion: """
            The health journal store as the health sink is configured (command line, e.g. --health-store > \
            CONSENT_BRIDGE_* environment > --config file > defaults; embedded: <data directory>/health.sqlite). \
            Exit codes: 0 report printed; 3 no records for this patient; 64 invalid patient id; 78 invalid \
            configuration; 1 store error.
            """
    )

    @Option(help: "The patient's fødselsnummer or D-number (11 digits, valid check digits).")
    var patient: String

    @Option(help: "Output format: table, json or csv.")
    var format: DisclosureReport.Format = .table

    @Flag(help: "Accept synthetic test identity numbers (month + 40 or + 80); for test environments only.")
    var allowSyntheticIds = false

    @OptionGroup var input: ConfigurationInput

    func validate() throws {
        try PatientArgument.validate(patient, allowSynthetic: allowSyntheticIds)
    }

    func run() async throws {
        let location = try input.sideStore(.healthSink, command: "disclosures")
        var logger = Logger(label: "consent-bridge.disclosures")
        logger.logLevel = .warning
        let output: DisclosureReport.Output
        do throws(StorageError) {
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
