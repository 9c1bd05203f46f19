import ArgumentParser
import ConsentBridge
import ConsentContracts
import ConsentPolicy
import Foundation

/// `consent-bridge agreements list|check`: the registry of IPS agreements (R14) as the bridge
/// reads it.
struct AgreementsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agreements",
        abstract: "List or check the registry of treatment teams with an IPS agreement (R14), as the bridge reads it.",
        subcommands: [AgreementsListCommand.self, AgreementsCheckCommand.self]
    )
}

/// The registry file and the day to judge it on.
struct AgreementsInput: ParsableArguments {
    @Option(help: "The registry (agreements.registry of the bridge).")
    var file: String = "Contracts/registry/ips-agreements.development.json"

    @Option(help: "Contracts directory (its registry/ips-agreements.schema.json checks the file).")
    var contracts: String = "Contracts"

    @Option(help: "The day to judge on (YYYY-MM-DD; default: today in Norway, Europe/Oslo).")
    var on: String?

    func day() throws -> CivilDate {
        guard let on else { return Timestamp(date: Date()).norwegianDate }
        guard let day = CivilDate(iso: on) else { throw ValidationError("--on must be a date like 2026-12-04") }
        return day
    }

    /// The registry, or exit 65 with the problem (the bridge would let no referral through).
    func load() throws -> IPSAgreements { try Self.load(file: file, contracts: contracts) }

    /// The registry at `file`, checked against the schema in `contracts`.
    static func load(file: String, contracts: String) throws -> IPSAgreements {
        guard let schema = IPSAgreementRegistry.schema(contractsDirectory: contracts) else {
            throw ValidationError("\(IPSAgreementRegistry.schemaPath(contractsDirectory: contracts)) cannot be read")
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            FileHandle.standardError.write(
                Data("\(file) cannot be read: the bridge would let no referral through\n".utf8))
            throw ExitCode(65)
        }
        do {
            return try IPSAgreements.parse(Array(data), schema: schema)
        } catch {
            FileHandle.standardError.write(
                Data("\(file) is not a valid registry (\(error)): the bridge would let no referral through\n".utf8))
            throw ExitCode(65)
        }
    }
}

struct AgreementsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List every agreement and whether it holds on the day.")

    @OptionGroup var input: AgreementsInput

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let registry = try input.load()
        let day = try input.day()
        if json {
            let rows = registry.agreements.map { agreement -> [String: Any] in
                [
                    "teamId": agreement.teamId, "organisationNumber": agreement.organisationNumber,
                    "name": agreement.name ?? NSNull(),
                    "validFrom": agreement.validFrom.description,
                    "validUntil": agreement.validUntil?.description ?? NSNull(),
                    "holds": agreement.holds(on: day),
                ]
            }
            print(
                String(
                    decoding: try JSONSerialization.data(
                        withJSONObject: ["on": day.description, "agreements": rows], options: [.sortedKeys]),
                    as: UTF8.self))
            return
        }
        print(
            TextTable.render(
                ["team", "organisation", "name", "from", "until", "holds on \(day)"],
                registry.agreements.map {
                    [
                        $0.teamId, $0.organisationNumber, $0.name ?? "", $0.validFrom.description,
                        $0.validUntil?.description ?? "", $0.holds(on: day) ? "yes" : "no",
                    ]
                }))
    }
}

struct AgreementsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Exit 0 when the team may refer on the day, 1 when it may not, 65 when the registry is unreadable.")

    @OptionGroup var input: AgreementsInput

    @Option(help: "Treatment team id (referringTeam.teamId).")
    var team: String

    @Option(help: "Organisasjonsnummer (referringTeam.organisationNumber).")
    var organisation: String

    func run() throws {
        let day = try input.day()
        if let agreement = try input.load().agreement(teamId: team, organisationNumber: organisation, on: day) {
            print(
                "may refer on \(day): agreement from \(agreement.validFrom)\(agreement.validUntil.map { " to \($0)" } ?? "")"
            )
        } else {
            print("may not refer on \(day): no IPS agreement holds (R14)")
            throw ExitCode(1)
        }
    }
}
