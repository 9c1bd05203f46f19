import ArgumentParser
import ConsentBridge
import ConsentConfiguration
import ConsentContracts
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge breaches --side health|nav|followup`: the breaches (R10) one side's store knows of:
/// the notices it filed (from either sink) and what its own sink quarantined. Metadata only;
/// a quarantined record stays sealed.
struct BreachesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breaches",
        abstract:
            "Breach notices (R10) one side filed, and what its sink quarantined (metadata only; the records stay sealed).",
        discussion: """
            Reads only that side's store, as `run` configures it (command line > CONSENT_BRIDGE_* environment > --config \
            file > defaults; embedded defaults: <data directory>/health.sqlite, nav.sqlite or followup.sqlite). Exit codes: 0 listed \
            (possibly empty); 1 store error; 3 no such quarantined record; 78 invalid configuration.

            `--open BREACH_ID --output FILE` is for that side's security officer: it opens one \
            quarantined record with the side's sealing key (current or previous, by the id stored with \
            it) and writes it to FILE (mode 0600; never to the terminal): topic, partition, offset, and \
            the key, headers and value in base64, exactly as received.
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

    @Option(help: "Which store: health, nav (NAV's case system) or followup (the IPS follow-up solution).")
    var side: Side

    @Flag(help: "JSON on standard output instead of tables.")
    var json = false

    @Option(help: "Open this quarantined record (its breach id) into --output.")
    var open: String?

    @Option(help: "Where --open writes the record (created with mode 0600, never overwritten).")
    var output: String?

    func validate() throws {
        if (open == nil) != (output == nil) { throw ValidationError("--open and --output go together") }
    }

    @OptionGroup var input: ConfigurationInput

    func run() async throws {
        let location = try input.sideStore(side.role, command: "breaches")
        if let open, let output {
            try await Self.open(
                breachID: open, into: output, side: side, location: location, configuration: try input.load())
            return
        }
        let (filed, quarantined) = try await Self.reading(side, at: location) { store in
            (try await store.breachLog(), try await store.quarantined())
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

    /// Opens one quarantined record of `side`'s store into the file `path` (0600, new).
    static func open(
        breachID: String, into path: String, side: Side, location: StoreLocation, configuration: BridgeConfiguration
    ) async throws {
        guard let ring = side == .health ? configuration.healthSealingKeys : configuration.navSealingKeys else {
            FileHandle.standardError.write(
                Data(
                    "breaches: no \(side.rawValue) sealing key is configured (embedded runs without one seal with a key of their own, which ends with the run)\n"
                        .utf8))
            throw ExitCode(78)
        }
        let entries = try await Self.reading(side, at: location) { store in try await store.quarantined() }
        guard let entry = entries.first(where: { $0.breachID == breachID }) else {
            FileHandle.standardError.write(
                Data("breaches: the \(side.rawValue) store has no quarantined record with that breach id\n".utf8))
            throw ExitCode(3)
        }
        guard let key = ring.key(id: entry.sealingKeyID) else {
            FileHandle.standardError.write(
                Data(
                    "breaches: the record is sealed with key \(entry.sealingKeyID), which is neither the current nor the previous \(side.rawValue) key\n"
                        .utf8))
            throw ExitCode.failure
        }
        let opened: [UInt8]
        do {
            opened = try SealingBox(keyID: key.id, keyBytes: key.bytes).open(
                entry.sealedRecord, associatedData: entry.breachID)
        } catch {
            FileHandle.standardError.write(
                Data(
                    "breaches: the sealed record does not open with that key (altered, or moved from another row)\n"
                        .utf8))
            throw ExitCode.failure
        }
        // A new file only, readable by its owner alone: it holds what the side must never have held.
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else {
            FileHandle.standardError.write(Data("breaches: cannot create \(path) (it must not exist yet)\n".utf8))
            throw ExitCode.failure
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data(opened))
        try handle.close()
        FileHandle.standardError.write(Data("breaches: opened \(breachID) into \(path)\n".utf8))
    }

    /// Runs `body` on `side`'s store and closes it; a store error ends the command with exit
    /// code 1 and its message (which never holds data).
    static func reading<Result>(
        _ side: Side, at location: StoreLocation, _ body: (any SinkStore) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "consent-bridge.breaches")
        logger.logLevel = .warning
        do {
            let store: any SinkStore
            switch side {
            case .health: store = try await HealthJournalStore.open(location, logger: logger)
            case .nav: store = try await NavSystemStore.open(location, logger: logger)
            case .followup: store = try await NavSystemStore.open(location, policy: .followUpStandard, logger: logger)
            }
            do {
                let result = try await body(store)
                await store.close()
                return result
            } catch {
                await store.close()
                throw error
            }
        } catch let error as StorageError {
            FileHandle.standardError.write(Data("breaches: \(error.message)\n".utf8))
            throw ExitCode.failure
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
