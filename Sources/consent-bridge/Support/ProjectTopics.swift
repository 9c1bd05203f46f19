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
            for index in topics.indices { topics[index].name = rename(topics[index].name, names) }
        }
        return topics
    }

    /// The configured name of a default topic name.
    private static func rename(_ address: String, _ names: TopicNames) -> String {
        let mapping: [String: String] = [
            "health.consent": names.healthConsent, "health.ips.outbound": names.healthOutbound, "nav.ips.outbound": names.navOutbound,
            "nav.ips.inbound": names.navInbound, "health.ips.inbound": names.healthInbound, "health.ips.receipts": names.healthReceipts,
            "nav.ips.receipts": names.navReceipts, "health.disclosures": names.healthDisclosures, "nav.disclosures": names.navDisclosures,
            "bridge.rejected": names.rejected,
        ]
        return mapping[address] ?? address
    }
}
