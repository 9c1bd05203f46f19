import ConsentConfiguration
import ConsentContracts
import ConsentContractsLint
import Foundation

/// One of the project's Kafka topics, as `Contracts/asyncapi.yaml` declares it.
struct ProjectTopic: Sendable, Hashable {
    var name: String
    var partitions: Int
    /// `compact` for the consent topic, `delete` otherwise.
    var cleanupPolicy: String
}

/// The topics the embedded broker creates: every channel of `Contracts/asyncapi.yaml`
/// (its Kafka binding's topic, partitions and cleanup policy), so the broker, the compose
/// stack and the contracts cannot drift apart.
enum ProjectTopics {
    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads the channels of `asyncapi.yaml`. With `names`, topics renamed in the
    /// configuration are created under their configured names (same partitions).
    static func load(contractsDirectory: String, names: TopicNames? = nil) throws -> [ProjectTopic] {
        let path = contractsDirectory + "/asyncapi.yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError(description: "cannot read \(path)")
        }
        let document = try YAMLDocument.parse(text)
        guard let channels = document.objectValue?["channels"]?.objectValue else {
            throw LoadError(description: "\(path) has no channels")
        }
        var topics: [ProjectTopic] = []
        for channel in channels {
            guard let object = channel.value.objectValue, let address = object["address"]?.stringValue else { continue }
            let kafka = object["bindings"]?.objectValue?["kafka"]?.objectValue
            let partitions = kafka?["partitions"]?.integerValue.map(Int.init) ?? 1
            let policy = kafka?["topicConfiguration"]?.objectValue?["cleanup.policy"]?.arrayValue?.first?.stringValue ?? "delete"
            topics.append(ProjectTopic(name: rename(address, names), partitions: partitions, cleanupPolicy: policy))
        }
        guard !topics.isEmpty else { throw LoadError(description: "\(path) declares no topics") }
        return topics
    }

    /// The configured name of a default topic name.
    private static func rename(_ address: String, _ names: TopicNames?) -> String {
        guard let names else { return address }
        let mapping: [String: String] = [
            "health.consent": names.healthConsent, "health.ips.outbound": names.healthOutbound, "nav.ips.outbound": names.navOutbound,
            "nav.ips.inbound": names.navInbound, "health.ips.inbound": names.healthInbound, "health.ips.receipts": names.healthReceipts,
            "nav.ips.receipts": names.navReceipts, "health.disclosures": names.healthDisclosures, "nav.disclosures": names.navDisclosures,
            "bridge.rejected": names.rejected,
        ]
        return mapping[address] ?? address
    }
}
