import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge breaches --side health|nav`: the breaches (R10) one side's store knows of:
/// the notices it filed (from either sink) and what its own sink quarantined. Metadata only;
/// a quarantined record stays sealed.
struct BreachesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaches",
        abstract:
            "Breach notices (R10) one side filed, and what its sink quarantined (metadata only; the records stay sealed).",
        discussion: """
            Reads only that side's store, as `run` configures it (command line > CONSENT_BRIDGE_* environment > --config \
            file > defaults; embedded defaults: <data directory>/health.sqlite or nav.sqlite). Exit codes: 0 listed \
            (possibly empty); 1 store error; 78 invalid configuration.
            """
    )

    enum Side: String, ExpressibleByArgument, CaseIterable { case health, nav }

    @Option(help: "Which side's store: health or nav.")
    var side: Side

    @Flag(help: "JSON on standard output instead of tables.")
    var json = false

    @OptionGroup var input: ConfigurationInput

    func run() async throws {
        let location = try input.sideStore(side == .health ? .healthSink : .navSink, command: "breaches")
        var logger = Logger(label: "consent-bridge.breaches")
        logger.logLevel = .warning
        let filed: [BreachNotice]
        let quarantined: [QuarantineEntry]
        do throws(StorageError) {
            switch side {
            case .health:
                let store = try await HealthJournalStore.open(location, logger: logger)
                defer { Task { await store.close() } }
                (filed, quarantined) = (try await store.breachLog(), try await store.quarantined())
            case .nav:
                let store = try await NavCaseStore.open(location, logger: logger)
                defer { Task { await store.close() } }
                (filed, quarantined) = (try await store.breachLog(), try await store.quarantined())
            }
        } catch {
            FileHandle.standardError.write(Data("breaches: \(error.message)\n".utf8))
            throw ExitCode.failure
        }
        if json {
            print(String(decoding: Self.json(filed: filed, quarantined: quarantined).prettyBytes(), as: UTF8.self))
            return
        }
        print("Breach notices filed by the \(side.rawValue) side (\(filed.count))")
        if !filed.isEmpty {
            print(
                TextTable.render(
                    ["detected", "by", "rule", "reason", "type", "where", "breach id"],
                    filed.map {
                        [
                            $0.detectedAt, $0.detectedBy.rawValue, $0.rule, $0.reason, $0.messageType,
                            Self.position($0.source), $0.breachID,
                        ]
                    }))
        }
        print(
            "\nQuarantined by the \(side.rawValue) sink, sealed with the \(side.rawValue) side's key (\(quarantined.count))"
        )
        if !quarantined.isEmpty {
            print(
                TextTable.render(
                    ["rule", "reason", "type", "where", "key id", "breach id"],
                    quarantined.map {
                        [$0.rule, $0.reason, $0.messageType, Self.position($0.source), $0.sealingKeyID, $0.breachID]
                    }))
        }
    }

    static func position(_ source: SourcePosition) -> String { "\(source.topic)[\(source.partition)]@\(source.offset)" }

    static func json(filed: [BreachNotice], quarantined: [QuarantineEntry]) -> JSONValue {
        .object(
            JSONObject(uniqueMembers: [
                .init(key: "filed", value: .array(filed.map(\.jsonValue))),
                .init(
                    key: "quarantined",
                    value: .array(
                        quarantined.map { entry in
                            .object(
                                JSONObject(uniqueMembers: [
                                    .init(key: "breachId", value: .string(entry.breachID)),
                                    .init(key: "rule", value: .string(entry.rule)),
                                    .init(key: "reason", value: .string(entry.reason)),
                                    .init(key: "messageType", value: .string(entry.messageType)),
                                    .init(key: "source", value: entry.source.jsonValue),
                                    .init(key: "sealingKeyId", value: .string(entry.sealingKeyID)),
                                ]))
                        })),
            ]))
    }
}
