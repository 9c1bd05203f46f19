/// Everything `consent-bridge run` needs to start, read from command line > environment >
/// configuration file > defaults (keys: `ConfigurationKey.all`, docs/configuration.md).
///
/// `description` is redacted: passwords, sealing keys and store URLs' passwords never appear.
package struct BridgeConfiguration: Sendable {
    /// Which parts this process runs (never empty).
    package var roles: Set<BridgeRole>
    /// Run against the embedded mock Kafka cluster (development and tests only).
    package var isEmbedded: Bool
    /// Directory of the embedded SQLite stores (`data.directory`).
    package var dataDirectory: String
    /// Directory of the message contracts (`contracts.directory`).
    package var contractsDirectory: String
    /// Set for every store a selected role needs; `nil` for the others.
    package var bridgeStore: StoreLocation?
    /// Health journal store; set when role `health-sink` runs.
    package var healthStore: StoreLocation?
    /// NAV case store; set when role `nav-sink` runs.
    package var navStore: StoreLocation?
    /// The IPS job specialist's follow-up store; set when role `followup-sink` runs.
    package var followUpStore: StoreLocation? = nil
    /// Consumer group shared by every bridge instance (`bridge.group-id`); each side's pipelines
    /// join `<id>.health` / `<id>.nav` in Kafka, and their offsets are stored under `<id>`.
    package var bridgeGroupID: String
    /// Consumer group of the health sink.
    package var healthSinkGroupID: String
    /// Consumer group of the NAV sink.
    package var navSinkGroupID: String
    /// Consumer group of the follow-up sink.
    package var followUpSinkGroupID: String = "consent-bridge-followup-sink"
    /// `nil` when embedded or when no selected role uses that side.
    package var healthKafka: KafkaConnection?
    /// The NAV side's cluster (see `healthKafka`).
    package var navKafka: KafkaConnection?
    /// Topic names (defaults = Contracts/asyncapi.yaml).
    package var topics: TopicNames
    /// Most events decided and recorded in one transaction (`pipeline.batch-size`).
    package var batchSize: Int
    /// How long the pipelines' consumers wait, after a batch's first event, for more
    /// (`pipeline.batch-linger-ms`).
    package var batchLingerMilliseconds: Int = 25
    /// librdkafka `session.timeout.ms` of every consumer (`kafka.session-timeout-ms`).
    package var kafkaSessionTimeoutMilliseconds: Int = 45_000
    /// librdkafka `fetch.wait.max.ms` of the event consumers (`kafka.fetch-wait-max-ms`).
    package var kafkaFetchWaitMaxMilliseconds: Int = 500
    /// How long a rejection's sealed payload is kept for a redrive
    /// (`rejections.sealed-payload-retention-hours`).
    package var sealedPayloadRetentionHours: Int = 720
    /// First retry wait after an infrastructure error.
    package var retryInitialBackoffMilliseconds: Int
    /// Longest retry wait (the wait doubles up to it).
    package var retryMaxBackoffMilliseconds: Int
    /// How long the relay may drain after a graceful shutdown began (`relay.shutdown-drain-ms`).
    package var relayShutdownDrainMilliseconds: Int = 20_000
    /// Required by roles `bridge` and `health-sink` unless embedded (then `nil` means: generate an
    /// ephemeral key).
    package var healthSealingKeys: SealingKeyRing?
    /// The NAV side's sealing keys (see `healthSealingKeys`).
    package var navSealingKeys: SealingKeyRing?
    /// Where `/health/*` and `/metrics` are served.
    package var httpListenAddress: HTTPListenAddress
    /// The registry of IPS agreements (R14) the bridge reads (`agreements.registry`; role bridge).
    package var agreementsRegistry: String?
    /// Who may use the operator service's API and page (`operator.*-tokens`).
    package var operatorAccess = OperatorAccess()
    /// `operator.known-sources`: the `ce_source`s operators see as written (any other as a
    /// keyed digest).
    package var knownSources: [String] = []
    /// Log level and format, for the executable's bootstrap.
    package var log: LogSettings
    /// Effective raw source of every key, for `config print`.
    package var sources: [String: ConfigurationSource]

    /// Whether a selected role consumes or produces on the health side's cluster.
    package var usesHealthKafka: Bool { roles.contains(.bridge) || roles.contains(.healthSink) }
    /// Whether a selected role consumes or produces on the NAV side's cluster.
    package var usesNavKafka: Bool {
        roles.contains(.bridge) || roles.contains(.navSink) || roles.contains(.followUpSink)
    }
}
