import ConsentConfiguration
import ConsentContractsLint

/// The topics the embedded broker creates: every channel of `Contracts/asyncapi.yaml`, so
/// the broker, the compose stack and the contracts cannot drift apart.
enum ProjectTopics {
    /// The channels of `asyncapi.yaml`. With `names`, topics renamed in the configuration are
    /// created under their configured names (same partitions).
    static func load(contractsDirectory: String, names: TopicNames? = nil) throws -> [AsyncAPITopics.Topic] {
        var topics = try AsyncAPITopics.load(contractsDirectory: contractsDirectory)
        if let names {
            for index in topics.indices { topics[index].name = names.configuredName(ofDefault: topics[index].name) }
        }
        return topics
    }
}
