extension ConfigurationKey {
    /// Every key the bridge reads, in documentation order. Adding a key here is the only way
    /// to make it loadable, and a test keeps docs/configuration.md identical to this table.
    package static let all: [ConfigurationKey] =
        general + stores + groups + kafka(side: "health", label: "health side (EPJ)")
        + kafka(side: "nav", label: "NAV side") + topics + pipeline
        + sealing(side: "health", label: "health side") + sealing(side: "nav", label: "NAV side")
        + operations

    private static let general: [ConfigurationKey] = [
        .init(
            "roles", .list, default: "bridge,health-sink,nav-sink,followup-sink",
            choices: BridgeRole.allCases.map(\.rawValue),
            "Comma-separated parts to run in this process: `bridge`, `health-sink`, `nav-sink` (NAV's case system, the veileder), `followup-sink` (the IPS job specialist's follow-up solution)."
        ),
        .init(
            "embedded", .bool, default: "false",
            "Start the embedded mock Kafka cluster in this process and use it for both sides (development and tests only; then no `*.kafka.*` key may be set)."
        ),
        .init(
            "data.directory", .path, default: "data",
            "Directory for the embedded SQLite stores (default store paths live here)."),
        .init(
            "contracts.directory", .path, default: "Contracts",
            "Directory with the message contracts (`schemas/`, `asyncapi.yaml`)."),
        .init(
            "agreements.registry", .path,
            default: "<contracts.directory>/registry/ips-agreements.development.json (embedded only)",
            "Registry of the treatment teams with an IPS agreement (R14; `Contracts/registry/ips-agreements.schema.json`), re-read when it changes. Only their referrals cross; while it cannot be read, no referral does. Required by role `bridge` unless `embedded`."
        ),
    ]

    private static let stores: [ConfigurationKey] = [
        .init(
            "bridge.store", .store, default: "<data.directory>/bridge.sqlite", secret: true,
            "Bridge store: a SQLite file path (optionally `sqlite:` prefixed) or a `postgres://user:password@host:port/database` URL. Needed by role `bridge`."
        ),
        .init(
            "health.store", .store, default: "<data.directory>/health.sqlite", secret: true,
            "Health journal store (same forms). Needed by role `health-sink`. Must differ from the other stores."),
        .init(
            "nav.store", .store, default: "<data.directory>/nav.sqlite", secret: true,
            "NAV case store: the veileder's case system (same forms). Needed by role `nav-sink`. Must differ from the other stores."
        ),
        .init(
            "followup.store", .store, default: "<data.directory>/followup.sqlite", secret: true,
            "The IPS job specialist's follow-up store (same forms). Needed by role `followup-sink`. Must differ from the other stores."
        ),
    ]

    private static let groups: [ConfigurationKey] = [
        .init(
            "bridge.group-id", .string, default: "consent-bridge",
            "Consumer group of the bridge: the pipelines join `<id>.health` and `<id>.nav`; run more instances with the same id to scale out."
        ),
        .init(
            "health-sink.group-id", .string, default: "consent-bridge-health-sink",
            "Kafka consumer group of the health sink."),
        .init(
            "nav-sink.group-id", .string, default: "consent-bridge-nav-sink",
            "Kafka consumer group of the NAV sink."),
        .init(
            "followup-sink.group-id", .string, default: "consent-bridge-followup-sink",
            "Kafka consumer group of the follow-up sink."),
    ]

    private static func kafka(side: String, label: String) -> [ConfigurationKey] {
        let prefix = "\(side).kafka."
        return [
            .init(
                prefix + "bootstrap-servers", .string,
                "Comma-separated `host:port` list of the \(label) Kafka cluster. Required unless `embedded` by the roles that read or write it; the other side's sink uses it for its breach notices (R10) when set, else its own cluster."
            ),
            .init(
                prefix + "security-protocol", .choice, default: "plaintext",
                choices: KafkaSecurityProtocol.allCases.map(\.rawValue),
                "librdkafka `security.protocol` for the \(label) cluster."),
            .init(prefix + "ssl.ca-location", .path, "CA certificate file (PEM) to verify the \(label) brokers."),
            .init(
                prefix + "ssl.certificate-location", .path,
                "Client certificate file (PEM) for mutual TLS with the \(label) cluster."),
            .init(
                prefix + "ssl.key-location", .path,
                "Client private key file (PEM) for mutual TLS with the \(label) cluster."),
            .init(
                prefix + "ssl.key-password", .string, secret: true,
                "Password of the client private key, if it is encrypted."),
            .init(
                prefix + "sasl.mechanism", .choice, choices: KafkaSASLMechanism.allCases.map(\.rawValue),
                "SASL mechanism for the \(label) cluster (required with `sasl_plaintext`/`sasl_ssl`)."),
            .init(prefix + "sasl.username", .string, "SASL user (Kafka principal) for the \(label) cluster."),
            .init(prefix + "sasl.password", .string, secret: true, "SASL password for the \(label) cluster."),
        ]
    }

    /// Topic keys and their defaults; the defaults are the names in Contracts/asyncapi.yaml.
    package static let topicDefaults: KeyValuePairs<String, String> = [
        "topics.health-consent": TopicNames.defaults.healthConsent,
        "topics.health-outbound": TopicNames.defaults.healthOutbound,
        "topics.nav-outbound": TopicNames.defaults.navOutbound,
        "topics.nav-inbound": TopicNames.defaults.navInbound,
        "topics.health-inbound": TopicNames.defaults.healthInbound,
        "topics.health-receipts": TopicNames.defaults.healthReceipts,
        "topics.nav-receipts": TopicNames.defaults.navReceipts,
        "topics.health-disclosures": TopicNames.defaults.healthDisclosures,
        "topics.nav-disclosures": TopicNames.defaults.navDisclosures,
        "topics.rejected": TopicNames.defaults.rejected,
        "topics.health-breaches": TopicNames.defaults.healthBreaches,
        "topics.nav-breaches": TopicNames.defaults.navBreaches,
        "topics.followup-outbound": TopicNames.defaults.followUpOutbound,
        "topics.followup-inbound": TopicNames.defaults.followUpInbound,
        "topics.followup-receipts": TopicNames.defaults.followUpReceipts,
        "topics.followup-disclosures": TopicNames.defaults.followUpDisclosures,
    ]

    private static let topics: [ConfigurationKey] = topicDefaults.map { key, value in
        .init(key, .string, default: value, "Topic name (see the topic table in ARCHITECTURE.md).")
    }

    private static let pipeline: [ConfigurationKey] = [
        .init(
            "pipeline.batch-size", .integer, default: "500",
            "Maximum events decided and recorded in one database transaction (1…10000)."),
        .init(
            "pipeline.batch-linger-ms", .integer, default: "25",
            "After a batch's first event, how long the pipelines wait for more (up to `pipeline.batch-size`) before deciding, in milliseconds. Below saturation every batch costs a commit and a few Kafka requests whatever its size: gathering cuts the CPU per event at up to this much added latency (at 2,000 events/s, 25 ms cut it by about a third and left p99 as it was: docs/performance.md). At saturation batches fill at once. Consent changes are never held (0…1000)."
        ),
        .init(
            "relay.retry-initial-backoff-ms", .integer, default: "100",
            "First wait after a broker or database error before retrying, in milliseconds."),
        .init(
            "relay.retry-max-backoff-ms", .integer, default: "30000",
            "Longest wait between retries (the wait doubles up to this), in milliseconds."),
        .init(
            "relay.shutdown-drain-ms", .integer, default: "20000",
            "At graceful shutdown (`SIGTERM`), how long the relay may still wait for delivery reports and publish what is recorded, in milliseconds, counted from when the pipelines have stopped deciding (normally within a second of the signal); then it stops waiting and closes its producers. Rows not confirmed by then stay pending and are published at the next start. Keep it well below the process's 30 s graceful shutdown (0…25000)."
        ),
        .init(
            "kafka.session-timeout-ms", .integer, default: "45000",
            "librdkafka `session.timeout.ms` of every consumer (both sides): how long a crashed member holds its partitions (1000…3600000)."
        ),
        .init(
            "kafka.fetch-wait-max-ms", .integer, default: "500",
            "librdkafka `fetch.wait.max.ms` of the event consumers (both sides); the consent-topic consumer uses at most 10, so a withdrawal is seen within ~10 ms even on brokers that hold empty fetches (0…10000)."
        ),
    ]

    private static func sealing(side: String, label: String) -> [ConfigurationKey] {
        let prefix = "\(side).sealing."
        return [
            .init(
                prefix + "key-id", .string,
                "Id of the current \(label) sealing key (letters, digits, `.`, `_`, `-`; stored beside each sealed payload)."
            ),
            .init(
                prefix + "key", .base64Key, secret: true,
                "Current \(label) AES-256 sealing key: the bridge seals rejected payloads with it, the \(label) sink what it quarantines (R10). Base64 of 32 random bytes. Required by roles `bridge` and `\(side)-sink`\(side == "nav" ? " / `followup-sink`" : "") unless `embedded`."
            ),
            .init(
                prefix + "previous-key-id", .string,
                "Id of the previous \(label) key, kept during a rotation so older rejections can still be opened."),
            .init(
                prefix + "previous-key", .base64Key, secret: true, "Previous \(label) AES-256 key (base64 of 32 bytes)."
            ),
        ]
    }

    private static let operations: [ConfigurationKey] = [
        .init(
            "http.listen-address", .address, default: "127.0.0.1:8080",
            "`host:port` of the operator service: `/health/live`, `/health/ready`, `/metrics`, the rejections API (`/api/rejections`) and page (`/operator`); `consent-bridge health` probes it."
        ),
        .init(
            "operator.viewer-tokens", .list, secret: true,
            "Comma-separated bearer tokens that may read the rejections API and page (role viewer; at least 16 characters each). Without any token the API answers 401."
        ),
        .init(
            "operator.operator-tokens", .list, secret: true,
            "Comma-separated bearer tokens that may also redrive rejections (role operator; at least 16 characters each)."
        ),
        .init(
            "operator.known-sources", .list,
            "Comma-separated `ce_source` URIs of the deployment's own systems (for example `urn:no:helse-vest:epj`), shown to operators as written. Any other source is shown as `unlisted-` and 8 hex digits of a keyed digest: a source is text the sender chose and may hold a name (R16), so without a list every source is shown that way. The same source gives the same digest while the sealing key stays."
        ),
        .init(
            "rejections.sealed-payload-retention-hours", .integer, default: "720",
            "How long the bridge store keeps a rejected message's sealed payload, for a redrive (1…87600 hours; 720 = 30 days). Older payloads are erased; the rejection's metadata stays for counts and trends, and a redrive answers `expired` (R9)."
        ),
        .init("log.level", .choice, default: "info", choices: LogSettings.levels, "Lowest log level written."),
        .init(
            "log.format", .choice, default: "text", choices: LogSettings.Format.allCases.map(\.rawValue),
            "Log line format."),
    ]

    /// The key with this dotted name, if it is documented.
    package static func named(_ name: String) -> ConfigurationKey? { byName[name] }

    private static let byName: [String: ConfigurationKey] = Dictionary(
        all.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
}
