import ConsentConfiguration
import ConsentContractsLint
import Foundation

/// The topics the embedded broker creates: every channel of `Contracts/asyncapi.yaml`, so
/// the broker, the compose stack and the contracts cannot drift apart.
enum ProjectTopics {
    /// The channels of `asyncapi.yaml`. With `names`, topics renamed in the configuration are
    /// created under their configured names (same partitions).
    ///
    /// Not inlined: inlined into `BrokerCommand.run`, this function crashed Swift 6.3.1's
    /// optimizer (signal 11 while splitting that async function's coroutine, release builds).
    @inline(never)
    static func load(contractsDirectory: String, names: TopicNames? = nil) throws -> [AsyncAPITopics.Topic] {
        // Started from another directory, the default `Contracts` is not there: say where it
        // was looked for and how to point to it, instead of naming a file and nothing else.
        let file = URL(fileURLWithPath: contractsDirectory).appendingPathComponent("asyncapi.yaml").path
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw MissingContracts(file: file)
        }
        var topics = try AsyncAPITopics.load(contractsDirectory: contractsDirectory)
        if let names {
            for index in topics.indices { topics[index].name = names.configuredName(ofDefault: topics[index].name) }
        }
        return topics
    }

    /// The contracts directory holds no readable `asyncapi.yaml`.
    struct MissingContracts: Error, CustomStringConvertible {
        /// The file looked for, as an absolute path.
        let file: String

        var description: String {
            """
            no contracts at \(file) (missing or unreadable): run from the repository's root (the \
            default contracts directory is `Contracts`, relative to the working directory) or set \
            the contracts directory: `--contracts-directory` (`contracts.directory`, \
            CONSENT_BRIDGE_CONTRACTS_DIRECTORY) for `run`, `--contracts` for `broker` and `demo`
            """
        }
    }
}
