package import Foundation
import SQLKit

/// Which Kafka cluster each stored position was read from.
///
/// A stored position (`consumer_offsets`) counts records of one cluster's log. Read against
/// another cluster (Kafka rebuilt empty, a cluster restored from a backup, a disaster-recovery
/// cluster behind the same address) it means something else: on a log already longer than the
/// position, the consumer resumes there and the records before it (consents, events) are never
/// read, silently. So every store that keeps positions binds each (consumer group, topic) to
/// the cluster id the cluster reports when its partitions are first assigned, and refuses to
/// hand out positions when a later assignment comes from a different cluster. Only an operator
/// can say what the new cluster's logs are (`adopt`): the bridge halts until then.
enum KafkaClusterBindings {
    /// The table, in every store that keeps consumer positions.
    static func migration(version: Int) -> Migration {
        Migration(version: version, name: "consumer positions bound to their Kafka cluster") { _ in
            [
                """
                CREATE TABLE kafka_cluster_bindings (
                    consumer_group TEXT NOT NULL,
                    topic TEXT NOT NULL,
                    cluster_id TEXT NOT NULL,
                    bound_at TEXT NOT NULL,
                    PRIMARY KEY (consumer_group, topic))
                """
            ]
        }
    }

    /// Binds `topics` of `consumerGroup` not yet bound to `clusterID`, then checks every one is
    /// bound to it; throws `.kafkaClusterReplaced` otherwise (nothing changed then). `store`:
    /// the store's `kafka-cluster --store` name, for the command the error gives.
    static func bind(
        _ sql: any SQLDatabase, consumerGroup: String, topics: Set<String>, clusterID: String, store: String,
        now: Date
    ) async throws {
        let stamp = StoreTime.string(from: now)
        for topic in topics.sorted() {
            // Two instances sharing a store may bind at once: the first insert wins, and the
            // check below holds the other to it.
            try await sql.raw(
                """
                INSERT INTO kafka_cluster_bindings (consumer_group, topic, cluster_id, bound_at)
                VALUES (\(bind: consumerGroup), \(bind: topic), \(bind: clusterID), \(bind: stamp))
                ON CONFLICT (consumer_group, topic) DO NOTHING
                """
            ).run()
        }
        let bound = try await Self.bindings(sql).filter {
            $0.consumerGroup == consumerGroup && topics.contains($0.topic)
        }
        try Self.requireNone(bound.filter { $0.clusterID != clusterID }, answering: clusterID, store: store)
    }

    /// Throws `.kafkaClusterReplaced` when any (group, topic) of `topics` is bound to another
    /// cluster than `clusterID`: what a process checks before it publishes to a cluster or
    /// reads from it, and then while it runs.
    static func check(_ sql: any SQLDatabase, topics: Set<String>, clusterID: String, store: String) async throws {
        let bound = try await Self.bindings(sql).filter { topics.contains($0.topic) }
        try Self.requireNone(bound.filter { $0.clusterID != clusterID }, answering: clusterID, store: store)
    }

    /// The refusal for positions bound to other clusters than the one `answering` (none: fine).
    private static func requireNone(_ elsewhere: [KafkaClusterBinding], answering clusterID: String, store: String)
        throws
    {
        guard !elsewhere.isEmpty else { return }
        let earlier = Set(elsewhere.map(\.clusterID)).sorted().joined(separator: ", ")
        let groups = Set(elsewhere.map(\.consumerGroup)).sorted().joined(separator: ", ")
        throw StorageError(
            .kafkaClusterReplaced,
            """
            the \(store) store's positions of consumer group \(groups) on \
            \(Set(elsewhere.map(\.topic)).sorted().joined(separator: ", ")) were read from Kafka cluster \(earlier), \
            but the cluster now answering is \(clusterID): its logs are not the ones those positions count, so \
            nothing is read from it or published to it until an operator adopts it (docs/operations.md, "A replaced \
            Kafka cluster": stop the processes using the store, then consent-bridge kafka-cluster adopt --store \
            \(store) --replacing \(earlier) --with \(clusterID))
            """
        )
    }

    /// Every binding, by consumer group and topic.
    static func bindings(_ sql: any SQLDatabase) async throws -> [KafkaClusterBinding] {
        try await sql.raw(
            "SELECT consumer_group, topic, cluster_id, bound_at FROM kafka_cluster_bindings ORDER BY consumer_group, topic"
        ).all().map { row in
            KafkaClusterBinding(
                consumerGroup: try row.decode(column: "consumer_group", as: String.self),
                topic: try row.decode(column: "topic", as: String.self),
                clusterID: try row.decode(column: "cluster_id", as: String.self),
                boundAt: StoreTime.date(from: try row.decode(column: "bound_at", as: String.self)) ?? .distantPast)
        }
    }

    /// Rebinds every (group, topic) bound to `old` to `new`, and forgets its stored position,
    /// so that it is read from the start of the new cluster's log; returns the bindings moved.
    static func adopt(_ sql: any SQLDatabase, replacing old: String, with new: String, now: Date) async throws
        -> [KafkaClusterBinding]
    {
        let moved = try await Self.bindings(sql).filter { $0.clusterID == old }
        let stamp = StoreTime.string(from: now)
        for binding in moved {
            try await sql.raw(
                """
                DELETE FROM consumer_offsets
                WHERE consumer_group = \(bind: binding.consumerGroup) AND topic = \(bind: binding.topic)
                """
            ).run()
            try await sql.raw(
                """
                UPDATE kafka_cluster_bindings SET cluster_id = \(bind: new), bound_at = \(bind: stamp)
                WHERE consumer_group = \(bind: binding.consumerGroup) AND topic = \(bind: binding.topic)
                """
            ).run()
        }
        return moved
    }
}

/// One (consumer group, topic)'s stored positions and the Kafka cluster they were read from.
package struct KafkaClusterBinding: Sendable, Hashable {
    /// The consumer group (or logical reader, such as the consent view) the positions are of.
    package var consumerGroup: String
    /// The topic.
    package var topic: String
    /// The cluster's id, as the cluster reports it.
    package var clusterID: String
    /// When it was bound (first assigned, or adopted).
    package var boundAt: Date
}

extension StoreDatabase {
    /// The stored positions of `consumerGroup` on `topics`, once each topic is checked to be
    /// bound to `clusterID` (bound now if it was not): throws `.kafkaClusterReplaced` when a
    /// topic's positions were read from another cluster. What a consumer calls on assignment.
    /// `store`: the store's kind, named in the refusal's command.
    package func kafkaPositions(consumerGroup: String, topics: Set<String>, clusterID: String, store: StoreKind)
        async throws(StorageError) -> [ConsumerOffset]
    {
        try await self.transaction { sql in
            try await KafkaClusterBindings.bind(
                sql, consumerGroup: consumerGroup, topics: topics, clusterID: clusterID, store: store.commandName,
                now: Date())
            return try await StoreSQL.offsets(sql, consumerGroup: consumerGroup).filter { topics.contains($0.topic) }
        }
    }

    /// Checks each of `topics` of `consumerGroup` to be bound to `clusterID` (bound now if it
    /// was not), as `kafkaPositions` does, for a consumer whose positions are kept elsewhere
    /// (the consent view restores its own): throws `.kafkaClusterReplaced` otherwise.
    package func bindKafkaCluster(consumerGroup: String, topics: Set<String>, clusterID: String, store: StoreKind)
        async throws(StorageError)
    {
        try await self.transaction { sql in
            try await KafkaClusterBindings.bind(
                sql, consumerGroup: consumerGroup, topics: topics, clusterID: clusterID, store: store.commandName,
                now: Date())
        }
    }

    /// Throws `.kafkaClusterReplaced` when positions of any of `topics` were read from another
    /// cluster than `clusterID` (topics not yet bound pass).
    package func checkKafkaCluster(_ clusterID: String, topics: Set<String>, store: StoreKind)
        async throws(StorageError)
    {
        try await self.read { sql in
            try await KafkaClusterBindings.check(sql, topics: topics, clusterID: clusterID, store: store.commandName)
        }
    }

    /// Which cluster each (group, topic)'s positions were read from.
    package func kafkaClusterBindings() async throws(StorageError) -> [KafkaClusterBinding] {
        try await self.read { sql in try await KafkaClusterBindings.bindings(sql) }
    }

    /// An operator's decision that cluster `new` replaces `old`: every position read from `old`
    /// is forgotten (its topic is read again from the start of the new cluster's log; what was
    /// already decided or applied is recognised by its event id) and bound to `new`. Returns
    /// the bindings moved (none when nothing was bound to `old`).
    package func adoptKafkaCluster(replacing old: String, with new: String) async throws(StorageError)
        -> [KafkaClusterBinding]
    {
        try await self.transaction { sql in
            try await KafkaClusterBindings.adopt(sql, replacing: old, with: new, now: Date())
        }
    }
}
