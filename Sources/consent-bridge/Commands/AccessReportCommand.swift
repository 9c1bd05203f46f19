import ArgumentParser
import ConsentConfiguration
import ConsentPolicy
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge access-report --side health|nav|followup --patient ID`: one person's access report
/// from one side's own store (R11).
struct AccessReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-report",
        abstract:
            "One person's access report (R11) from one side's own store: health (consents, disclosures) or NAV (received, shared, own documentation).",
        discussion: """
            Reads only that side's store, as that side's sink is configured (command line > CONSENT_BRIDGE_* \
            environment > --config file > defaults; embedded: <data directory>/health.sqlite, nav.sqlite or followup.sqlite). Exit \
            codes: 0 report printed; 3 the store holds nothing about the person; 64 invalid id; 78 invalid \
            configuration; 1 store error.
            """
    )

    /// `nav` is NAV's case system (the veileder's), `followup` the IPS job specialist's
    /// follow-up solution: each NAV system has its own store (R9).
    enum Side: String, ExpressibleByArgument, CaseIterable {
        case health, nav, followup

        /// The role whose configured store this side's store is.
        var role: BridgeRole {
            switch self {
            case .health: .healthSink
            case .nav: .navSink
            case .followup: .followUpSink
            }
        }
    }
    enum Format: String, ExpressibleByArgument, CaseIterable { case table, json, csv }

    @Option(help: "Which system's part: health, nav (NAV's case system) or followup (the IPS follow-up solution).")
    var side: Side

    @Option(help: "The person's fødselsnummer or D-number.")
    var patient: String

    @Option(help: "Output format: table, json or csv.")
    var format: Format = .table

    @Flag(help: "Accept synthetic test identity numbers (month + 40 or + 80); for test environments only.")
    var allowSyntheticIds = false

    @OptionGroup var input: ConfigurationInput

    func validate() throws {
        try PatientArgument.validate(patient, allowSynthetic: allowSyntheticIds)
    }

    func run() async throws {
        let location = try input.sideStore(side.role, command: "access-report")
        var logger = Logger(label: "consent-bridge.access-report")
        logger.logLevel = .warning
        let report: AccessReport
        do throws(StorageError) {
            switch side {
            case .health:
                let journal = try await HealthJournalStore.open(location, logger: logger)
                defer { Task { await journal.close() } }
                report = try await journal.accessReport(patientID: patient)
            case .nav, .followup:
                let navStore = try await NavSystemStore.open(
                    location, policy: side == .nav ? .standard : .followUpStandard, logger: logger)
                defer { Task { await navStore.close() } }
                report = try await navStore.accessReport(personID: patient)
            }
        } catch {
            FileHandle.standardError.write(Data("access-report: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        print(Self.render(report, as: format), terminator: "")
        if report.isEmpty {
            FileHandle.standardError.write(Data("the \(side.rawValue) store holds nothing about this person\n".utf8))
            throw ExitCode(3)
        }
    }

    static func render(_ report: AccessReport, as format: Format) -> String {
        switch format {
        case .json:
            let object: [String: Any] = [
                "side": report.side, "controller": report.controller, "notice": report.notice,
                "sections": report.sections.map { section in
                    [
                        "title": section.title,
                        "rows": section.rows.map { Dictionary(uniqueKeysWithValues: zip(section.columns, $0)) },
                    ] as [String: Any]
                },
            ]
            let data =
                (try? JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self) + "\n"
        case .csv:
            func field(_ text: String) -> String {
                text.contains(where: { ",\"\n".contains($0) })
                    ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            var lines = ["section,field,value,row"]
            for section in report.sections {
                for (index, row) in section.rows.enumerated() {
                    for (column, value) in zip(section.columns, row) {
                        lines.append(
                            [section.title, column, value, String(index + 1)].map(field).joined(separator: ","))
                    }
                }
            }
            return lines.joined(separator: "\n") + "\n"
        case .table:
            var text = "Access report, \(report.side) side: \(report.controller)\n\(report.notice)\n"
            for section in report.sections {
                text += "\n\(section.title) (\(section.rows.count))\n"
                if !section.rows.isEmpty { text += TextTable.render(section.columns, section.rows) + "\n" }
            }
            return text
        }
    }
}
