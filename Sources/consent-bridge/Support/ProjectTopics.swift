import Foundation

/// The project's Kafka topics (ARCHITECTURE.md's topic table).
struct ProjectTopic: Sendable, Hashable {
    var name: String
    var partitions: Int
    /// `compact` for the consent topic, `delete` otherwise.
    var cleanupPolicy: String
}

enum ProjectTopics {
    /// The topics of ARCHITECTURE.md. `contractsDirectory` is reserved for reading them from
    /// `asyncapi.yaml` once the contracts module exposes it.
    static func load(contractsDirectory: String) throws -> [ProjectTopic] {
        builtIn
    }

    static let builtIn: [ProjectTopic] = [
        ProjectTopic(name: "health.consent", partitions: 6, cleanupPolicy: "compact"),
        ProjectTopic(name: "health.ips.outbound", partitions: 12, cleanupPolicy: "delete"),
        ProjectTopic(name: "nav.ips.outbound", partitions: 12, cleanupPolicy: "delete"),
        ProjectTopic(name: "nav.ips.inbound", partitions: 12, cleanupPolicy: "delete"),
        ProjectTopic(name: "health.ips.inbound", partitions: 12, cleanupPolicy: "delete"),
        ProjectTopic(name: "health.ips.receipts", partitions: 6, cleanupPolicy: "delete"),
        ProjectTopic(name: "nav.ips.receipts", partitions: 6, cleanupPolicy: "delete"),
        ProjectTopic(name: "health.disclosures", partitions: 6, cleanupPolicy: "delete"),
        ProjectTopic(name: "nav.disclosures", partitions: 6, cleanupPolicy: "delete"),
        ProjectTopic(name: "bridge.rejected", partitions: 3, cleanupPolicy: "delete"),
    ]
}
