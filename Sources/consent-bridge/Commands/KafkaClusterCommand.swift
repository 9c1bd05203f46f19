import ArgumentParser
import ConsentConfiguration
import ConsentKafka
import ConsentStorage
import Foundation
import Logging

/// `consent-bridge kafka-cluster show|adopt`: which Kafka cluster a store's positions were read
/// from, and an operator's decision that a new cluster replaces it (docs/operations.md, "A
/// replaced Kafka cluster").
struct KafkaClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-cluster",
        abstract: "Show which Kafka cluster a store's positions were read from, or adopt a cluster that replaced it.",
        discussion: """
            Every store keeps, beside its positions in the Kafka logs, the id of the cluster they were read \
            from. When the cluster answering is another (Kafka rebuilt, restored or failed over behind the same \
            address), the bridge or sink reading that store halts instead of skipping records, and says which \
            ids to adopt.
            """,
        subcommands: [Show.self, Adopt.self]
    )

    /// The store: the bridge's or one sink's, as `run` configures it, by the name a store's
    /// refusal prints in the command it gives (`StoreKind.commandName`: one list of names).
    struct Store: ExpressibleByArgument {
        let kind: StoreKind

        init?(argument: String) {
            guard let kind = StoreKind.allCases.first(where: { $0.commandName == argument }) else { return nil }
            self.kind = kind
        }

        static var allValueStrings: [String] { StoreKind.allCases.map(\.commandName) }

        /// The name it was given by.
        var name: String { kind.commandName }

        var role: BridgeRole {
            switch kind {
            case .bridge: .bridge
            case .healthJournal: .healthSink
            case .navCase: .navSink
            case .navFollowUp: .followUpSink
            }
        }
    }

    /// Opens `store`'s database (as configured) for `body`; a store error exits 1 with its
    /// operator-safe message.
    static func withDatabase<Result>(
        _ store: Store, _ input: ConfigurationInput, command: String,
        _ body: (StoreDatabase, BridgeConfiguration) async throws -> Result
    ) async throws -> Result {
        let location = try input.sideStore(store.role, command: command)
        let configuration = try input.load()
        if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            FileHandle.standardError.write(Data("\(command): no \(store.name) store at \(location)\n".utf8))
            throw ExitCode.failure
        }
        var logger = Logger(label: "consent-bridge.kafka-cluster")
        logger.logLevel = .warning
        do {
            let database = try await StoreDatabase.open(location, logger: logger)
            do {
                let result = try await body(database, configuration)
                await database.close()
                return result
            } catch {
                await database.close()
                throw error
            }
        } catch let error as StorageError {
            FileHandle.standardError.write(Data("\(command): \(error.message)\(Self.hint(error))\n".utf8))
            throw ExitCode.failure
        }
    }

    /// What to do when the store predates the bindings (a query on a table it lacks).
    private static func hint(_ error: StorageError) -> String {
        error.code == .queryFailed
            ? " (a store not yet opened by this version has no bindings: its positions are bound at the next start)"
            : ""
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract:
                "List each consumer group's topics with the cluster their positions were read from, and the id each configured cluster reports now.",
            discussion: "Exit codes: 0 listed; 1 store error; 64 invalid arguments; 78 invalid configuration.")

        @Option(help: "Which store: bridge, health, nav (NAV's case system) or followup.")
        var store: Store

        @Flag(help: "JSON on standard output instead of tables.")
        var json = false

        @OptionGroup var input: ConfigurationInput

        func run() async throws {
            let (bindings, answering) = try await KafkaClusterCommand.withDatabase(
                store, input, command: "kafka-cluster show"
            ) {
                database, configuration in
                (try await database.kafkaClusterBindings(), await Self.answering(configuration))
            }
            if json {
                let object: [String: Any] = [
                    "bindings": bindings.map {
                        [
                            "consumerGroup": $0.consumerGroup, "topic": $0.topic, "clusterId": $0.clusterID,
                            "boundAt": ISO8601DateFormatter().string(from: $0.boundAt),
                        ]
                    },
                    "clustersAnswering": answering.mapValues { $0 ?? NSNull() as Any },
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print(
                "Positions in the \(store.name) store, by the Kafka cluster they were read from (\(bindings.count))"
            )
            if !bindings.isEmpty {
                print(
                    TextTable.render(
                        ["consumer group", "topic", "cluster", "bound at"],
                        bindings.map {
                            [$0.consumerGroup, $0.topic, $0.clusterID, ISO8601DateFormatter().string(from: $0.boundAt)]
                        }))
            }
            print("")
            if answering.isEmpty {
                print("Clusters answering now: none asked (the embedded broker is a new cluster every run)")
            } else {
                print("Clusters answering now:")
                for (side, id) in answering.sorted(by: { $0.key < $1.key }) {
                    print("  \(side): \(id ?? "no answer within 10 s")")
                }
            }
        }

        /// The id each configured side's cluster reports now (nil: no answer); none when embedded.
        static func answering(_ configuration: BridgeConfiguration) async -> [String: String?] {
            guard !configuration.isEmbedded else { return [:] }
            var logger = Logger(label: "consent-bridge.kafka-cluster")
            logger.logLevel = .critical
            var answers: [String: String?] = [:]
            for (side, connection) in [("health", configuration.healthKafka), ("nav", configuration.navKafka)] {
                guard let connection else { continue }
                guard
                    let admin = try? KafkaAdmin(
                        configuration: RunCommand.client(connection, name: side), logger: logger)
                else {
                    answers[side] = .some(nil)
                    continue
                }
                answers[side] = .some(try? await admin.clusterID())
                await admin.close()
            }
            return answers
        }
    }

    struct Adopt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "adopt",
            abstract: "Adopt a Kafka cluster that replaced another: its logs are read from their start.",
            discussion: """
                Stop every process using the store first. Every position read from the cluster --replacing names is \
                forgotten and bound to the cluster --with names, so at the next start those topics are read from the \
                start of the new cluster's logs. Events already decided or applied are recognised by their ids and \
                not decided twice; consent records replayed are applied by their versions (an older version never \
                replaces a newer one). Records the old cluster held and the new one does not are not read again: \
                republish them to the new cluster if they were not read before the replacement. Exit codes: 0 adopted; \
                1 store error; 3 no position was read from the cluster --replacing names; 4 no configured cluster \
                reports the --with id now (nothing changed; --force adopts it anyway); 64 invalid arguments; 78 invalid \
                configuration.
                """)

        @Option(help: "Which store: bridge, health, nav (NAV's case system) or followup.")
        var store: Store

        @Option(help: "The id of the cluster the positions were read from (as the halt or `show` names it).")
        var replacing: String

        @Option(
            name: .customLong("with"), help: "The id of the cluster that replaced it (as the halt or `show` names it).")
        var newCluster: String

        @Flag(help: "Adopt even when no configured cluster reports the --with id now (unreachable, or not yet).")
        var force = false

        @OptionGroup var input: ConfigurationInput

        func validate() throws {
            if replacing == newCluster { throw ValidationError("--replacing and --with name the same cluster") }
            if replacing.isEmpty || newCluster.isEmpty { throw ValidationError("a cluster id cannot be empty") }
        }

        func run() async throws {
            let moved = try await KafkaClusterCommand.withDatabase(store, input, command: "kafka-cluster adopt") {
                database, configuration in
                // A mistyped or stale id would bind the positions to a cluster nobody runs:
                // the next start would halt again, with the old positions gone.
                if !force {
                    let answering = await Show.answering(configuration)
                    guard answering.values.contains(where: { $0 == newCluster }) else {
                        let now = answering.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value ?? "no answer")" }
                        FileHandle.standardError.write(
                            Data(
                                ("kafka-cluster adopt: no configured cluster reports \(newCluster) now ("
                                    + (now.isEmpty ? "none asked" : now.joined(separator: ", "))
                                    + "); nothing changed. Check the id, or add --force to adopt it anyway\n").utf8))
                        throw ExitCode(4)
                    }
                }
                return try await database.adoptKafkaCluster(replacing: replacing, with: newCluster)
            }
            guard !moved.isEmpty else {
                FileHandle.standardError.write(
                    Data(
                        "kafka-cluster adopt: no position in the \(store.name) store was read from \(replacing); nothing changed\n"
                            .utf8))
                throw ExitCode(3)
            }
            print(
                "Adopted \(newCluster) in place of \(replacing) in the \(store.name) store; read from the start of its logs at the next start:"
            )
            print(TextTable.render(["consumer group", "topic"], moved.map { [$0.consumerGroup, $0.topic] }))
        }
    }
}
