/// Everything `consent-bridge run` needs to start, read from command line > environment >
/// configuration file > defaults (keys: `ConfigurationKey.all`, docs/configuration.md).
///
/// `description` is redacted: passwords, sealing keys and store URLs' passwords never appear.
package struct BridgeConfiguration: Sendable {
    /// Which parts this process runs (never empty).
    package var roles: Set<BridgeRole>
    /// Run against the embedded mock Kafka cluster (development and tests only).
    package var isEmbedded: Bool
    package var dataDirectory: String
    package var contractsDirectory: String
    /// Set for every store a selected role needs; `nil` for the others.
    package var bridgeStore: StoreLocation?
    package var healthStore: StoreLocation?
    package var navStore: StoreLocation?
    package var bridgeGroupID: String
    package var healthSinkGroupID: String
    package var navSinkGroupID: String
    /// `nil` when embedded or when no selected role uses that side.
    package var healthKafka: KafkaConnection?
    package var navKafka: KafkaConnection?
    package var topics: TopicNames
    package var batchSize: Int
    package var pollTimeoutMilliseconds: Int
    package var retryInitialBackoffMilliseconds: Int
    package var retryMaxBackoffMilliseconds: Int
    /// Required by role `bridge` unless embedded (then `nil` means: generate an ephemeral key).
    package var healthSealingKeys: SealingKeyRing?
    package var navSealingKeys: SealingKeyRing?
    package var httpListenAddress: HTTPListenAddress
    package var log: LogSettings
    package var allowsSyntheticIdentifiers: Bool
    /// Effective raw source of every key, for `config print`.
    package var sources: [String: ConfigurationSource]

    /// Whether a selected role consumes or produces on the health side's cluster.
    package var usesHealthKafka: Bool { roles.contains(.bridge) || roles.contains(.healthSink) }
    /// Whether a selected role consumes or produces on the NAV side's cluster.
    package var usesNavKafka: Bool { roles.contains(.bridge) || roles.contains(.navSink) }
}
