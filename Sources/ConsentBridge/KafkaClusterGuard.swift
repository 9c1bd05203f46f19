package import ConsentKafka
package import ConsentStorage
package import Logging
import ServiceLifecycle
import Synchronization

/// Checks that each Kafka cluster a process reads from and publishes to is the one its stores'
/// positions were read from (`kafka_cluster_bindings`): before any service runs, before every
/// batch a pipeline or sink acts on (the confirmations `watch` returns), and every few seconds
/// while they run. A different cluster stops the process with the store's refusal (which names
/// both ids and the command that adopts the new cluster).
///
/// The consumers check at every assignment, but that was not enough (an outside audit):
/// - with each side on a cluster of its own, the health pipeline decided and the relay
///   published identified copies to a NAV cluster never adopted (a replacement, or a wrong
///   address) before the NAV pipeline's assignment halted the process;
/// - a cluster replaced under a running process was never caught: its consumers stayed in
///   their groups, and the process kept running, not ready, with liveness at 200. The check
///   every few seconds caught it, but what the consumers fetched from the new cluster
///   meanwhile was decided: a consent view resuming at its old position in a longer log skips
///   the withdrawal at the log's start. Hence the confirmation per batch.
package final class KafkaClusterGuard: Service {
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

    /// What is known of one watched cluster.
    private struct Known {
        var watched: Watched
        /// The id the cluster reported when it was last found matching the store: the cluster
        /// this process's consumers have read from (nil until it first answered).
        var clusterID: String?
        /// When the question that last found it unchanged was asked.
        var confirmedAt: ContinuousClock.Instant?
    }

    /// How long a check while running waits for a cluster's answer before passing it over
    /// until the next (see `verify`).
    static let answerTimeout: Duration = .seconds(1)
    /// How long a batch's confirmation waits for the cluster's answer before it is retried.
    static let confirmationTimeout: Duration = .seconds(2)

    private let known = Mutex<[Known]>([])
    private let interval: Duration
    private let logger: Logger

    /// A guard checking every `interval` (5 s by default) once running; clusters are added
    /// with `watch`.
    package init(interval: Duration = .seconds(5), logger: Logger) {
        self.interval = interval
        self.logger = logger
    }

    /// Adds a cluster to check; its confirmation is what the consumers reading `watched.topics`
    /// ask before each batch.
    @discardableResult
    package func watch(_ watched: Watched) -> KafkaClusterConfirmation {
        let index = known.withLock { known in
            known.append(Known(watched: watched))
            return known.count - 1
        }
        return KafkaClusterConfirmation { [self] instant in
            try await self.confirm(index, askedAtOrAfter: instant, answerTimeout: Self.confirmationTimeout)
        }
    }

    /// Throws the store's `.kafkaClusterReplaced` refusal when a cluster that answers is not
    /// the one its topics' positions were read from. A cluster that does not answer is passed
    /// over (its clients report it; nothing reaches it meanwhile) and checked again next time.
    /// `answerTimeout`: the start's check waits longer (a loaded machine's slow answer must not
    /// let a start through unchecked); the checks while running are short, since closing a
    /// client at shutdown waits for its call.
    ///
    /// The clusters are asked at once, not one after another: with Kafka down, a process with
    /// the bridge and three sinks waited 10 s per watched cluster at its start.
    package func verify(answerTimeout: Duration = KafkaClusterGuard.answerTimeout) async throws {
        let count = known.withLock { $0.count }
        try await withThrowingTaskGroup(of: Void.self) { checks in
            for index in 0..<count {
                checks.addTask {
                    do {
                        try await self.confirm(index, askedAtOrAfter: .now, answerTimeout: answerTimeout)
                    } catch let error as StorageError where error.code == .kafkaClusterReplaced {
                        throw error
                    } catch {
                        // Not answering (Kafka's clients report it), or the store not answering
                        // (the store's watch reports it): checked again next time.
                    }
                }
            }
            try await checks.waitForAll()
        }
    }

    /// Returns once a question asked at or after `instant` found cluster `index` to be the one
    /// its store's positions were read from (one question serves every batch fetched before
    /// it was asked). Throws the refusal, logged as critical, when it is another; throws
    /// Kafka's or the store's error when either does not answer (retried by the caller).
    private func confirm(_ index: Int, askedAtOrAfter instant: ContinuousClock.Instant, answerTimeout: Duration)
        async throws
    {
        let (watched, expected, confirmedAt) = known.withLock {
            ($0[index].watched, $0[index].clusterID, $0[index].confirmedAt)
        }
        if let confirmedAt, confirmedAt >= instant { return }
        let asked = ContinuousClock.now
        let answering = try await watched.admin.clusterID(timeout: answerTimeout)
        do {
            if answering != expected {
                // The store's refusal names the command that adopts the new cluster.
                try await watched.database.checkKafkaCluster(answering, topics: watched.topics, store: watched.store)
                // The store already binds the new cluster (adopted while this process ran), but
                // this process's consumers kept their positions in the old cluster's logs.
                if let expected {
                    throw StorageError(
                        .kafkaClusterReplaced,
                        """
                        Kafka cluster \(expected), which this process has read the \(watched.store.commandName) \
                        store's topics from, was replaced by \(answering) while it ran; the store has adopted \
                        \(answering), and the process stops so that its consumers start again from the adopted \
                        positions
                        """)
                }
            }
        } catch let error as StorageError where error.code == .kafkaClusterReplaced {
            logger.critical(
                "Kafka cluster replaced: the process stops before it reads from or publishes to it",
                metadata: ["error": "\(error)"])
            throw error
        }
        known.withLock { known in
            known[index].clusterID = answering
            known[index].confirmedAt = max(asked, known[index].confirmedAt ?? asked)
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
