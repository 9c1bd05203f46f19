import ConsentContracts

/// The Kafka topics `Contracts/asyncapi.yaml` declares, for creating them (`consent-bridge broker`).
package enum AsyncAPITopics {
    /// One topic as the AsyncAPI Kafka binding describes it.
    package struct Topic: Sendable, Hashable {
        /// Topic name (the channel address).
        package var name: String
        /// Partition count from `bindings.kafka.partitions`.
        package var partitions: Int
        /// `cleanup.policy`, comma-joined as Kafka expects (`compact`, `delete`, `compact,delete`).
        package var cleanupPolicy: String
    }

    /// Why the topics could not be read.
    package struct LoadError: Error, Sendable, CustomStringConvertible {
        /// What went wrong (file and pointer, no data).
        package var message: String
        package var description: String { message }
    }

    /// Every channel of `<contractsDirectory>/asyncapi.yaml`, in document order.
    package static func load(contractsDirectory: String) throws(LoadError) -> [Topic] {
        guard let bytes = ContractFiles.read(contractsDirectory + "/asyncapi.yaml") else {
            throw LoadError(message: "asyncapi.yaml: missing or unreadable")
        }
        let document: JSONValue
        do throws(YAMLDocument.LoadError) {
            document = try YAMLDocument.parse(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw LoadError(message: "asyncapi.yaml: \(error.message)")
        }
        guard let channels = document.objectValue?["channels"]?.objectValue else {
            throw LoadError(message: "asyncapi.yaml#/channels: missing")
        }
        var topics: [Topic] = []
        for channel in channels {
            let pointer = "asyncapi.yaml#/channels/" + JSONPointer.escape(channel.key)
            guard let object = channel.value.objectValue, let address = object["address"]?.stringValue else {
                throw LoadError(message: "\(pointer)/address: missing")
            }
            let kafka = object["bindings"]?.objectValue?["kafka"]?.objectValue
            guard let partitions = kafka?["partitions"]?.integerValue, partitions >= 1,
                let count = Int(exactly: partitions)
            else {
                throw LoadError(message: "\(pointer)/bindings/kafka/partitions: missing or not positive")
            }
            let policy =
                kafka?["topicConfiguration"]?.objectValue?["cleanup.policy"]?.arrayValue?.compactMap(\.stringValue)
                ?? []
            guard !policy.isEmpty else {
                throw LoadError(message: "\(pointer)/bindings/kafka/topicConfiguration/cleanup.policy: missing")
            }
            topics.append(Topic(name: address, partitions: count, cleanupPolicy: policy.joined(separator: ",")))
        }
        return topics
    }
}
