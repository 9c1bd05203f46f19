package import ConsentKafka
package import ConsentStorage
package import Logging
import ServiceLifecycle

/// Checks that each Kafka cluster a process reads from and publishes to is the one its stores'
/// positions were read from (`kafka_cluster_bindings`): before any service runs, and then every
/// few seconds while they do. A different cluster stops the process with the store's refusal
/// (which names both ids and the command that adopts the new cluster).
///
/// The consumers check at every assignment, but that was not enough (an outside audit):
/// - with each side on a cluster of its own, the health pipeline decided and the relay
///   published identified copies to a NAV cluster never adopted (a replacement, or a wrong
///   address) before the NAV pipeline's assignment halted the process;
/// - a cluster replaced under a running process was never caught: its consumers stayed in
///   their groups, and the process kept running, not ready, with liveness at 200.
package struct KafkaClusterGuard: Service {
    /// One cluster and the store topics whose positions must have been read from it.
    package struct Watched: Sendable {
        /// Asks the cluster for its id.
        package var admin: KafkaAdmin
        /// The store holding the positions.
        package var database: StoreDatabase
        /// Which store it is (named in the refusal).
        package var store: StoreKind
        /// The topics on this cluster whose positions the store keeps.
        package var topics: Set<String>

        /// What `admin`'s cluster must be, for `topics` of `store` (`database`).
        package init(admin: KafkaAdmin, database: StoreDatabase, store: StoreKind, topics: Set<String>) {
            self.admin = admin
            self.database = database
            self.store = store
            self.topics = topics
        }
    }

    /// How long a check while running waits for a cluster's answer before passing it over
    /// until the next (see `verify`).
    static let answerTimeout: Duration = .seconds(1)

    private let watched: [Watched]
    private let interval: Duration
    private let logger: Logger

    /// A guard over `watched`, checking every `interval` (5 s by default) once running.
    package init(watched: [Watched], interval: Duration = .seconds(5), logger: Logger) {
        self.watched = watched
        self.interval = interval
        self.logger = logger
    }

    /// Throws the store's `.kafkaClusterReplaced` refusal when a cluster that answers is not
    /// the one its topics' positions were read from. A cluster that does not answer is passed
    /// over (its clients report it; nothing reaches it meanwhile) and checked again next time.
    /// `answerTimeout`: the start's check waits longer (a loaded machine's slow answer must not
    /// let a start through unchecked); the checks while running are short, since closing a
    /// client at shutdown waits for its call.
    package func verify(answerTimeout: Duration = KafkaClusterGuard.answerTimeout) async throws {
        for watched in self.watched {
            // Short: a cluster that is down holds its client's one thread this long, and closing
            // the client at shutdown waits for it (a CI run's shutdown with the NAV cluster down
            // took 23 s against 22 with 5 s here). A healthy cluster answers in milliseconds.
            guard let id = try? await watched.admin.clusterID(timeout: answerTimeout) else { continue }
            do {
                try await watched.database.checkKafkaCluster(id, topics: watched.topics, store: watched.store)
            } catch  where error.code == .kafkaClusterReplaced {
                self.logger.critical(
                    "Kafka cluster replaced: the process stops before it reads from or publishes to it",
                    metadata: ["error": "\(error)"])
                throw error
            } catch {
                // The store not answering is the store's watch's to report; checked again next time.
                continue
            }
        }
    }

    /// Checks every `interval` until graceful shutdown; throws (stopping the process) on a
    /// replaced cluster.
    package func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: self.interval)
                } catch {
                    return  // graceful shutdown
                }
                try await self.verify()
            }
        }
    }
}
