/// One documented configuration key of the bridge, in its three spellings.
///
/// The dotted `name` is the file form (`health.kafka.bootstrap-servers`); the environment
/// form is `CONSENT_BRIDGE_` + upper snake case (`CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS`);
/// the command-line form is `--` + kebab case (`--health-kafka-bootstrap-servers`).
/// `ConfigurationKey.all` is the single table that loading, `config print` and
/// docs/configuration.md are built from, so none of them can drift from the others.
package struct ConfigurationKey: Sendable, Hashable, Comparable {
    /// How a key's value is written; drives parsing and the documentation's "type" column.
    package enum ValueKind: String, Sendable {
        case string, path, bool, integer, list, url, store
        case base64Key = "base64 key"
        case address, choice
    }

    /// The dotted file form, e.g. `bridge.store`.
    package var name: String
    /// The kind of value, for parsing and documentation.
    package var kind: ValueKind
    /// What the default is, as documentation text (`nil` = no default).
    package var defaultDescription: String?
    /// One-line description for docs/configuration.md and `config print`.
    package var summary: String
    /// Secret values are never printed, logged or put into an error description.
    package var isSecret: Bool
    /// For `choice` keys: the accepted values (also used in error messages; they are not secret).
    package var choices: [String]

    /// A key; `summary` is one line of documentation.
    package init(
        _ name: String, _ kind: ValueKind, default defaultDescription: String? = nil,
        secret isSecret: Bool = false, choices: [String] = [], _ summary: String
    ) {
        self.name = name
        self.kind = kind
        self.defaultDescription = defaultDescription
        self.summary = summary
        self.isSecret = isSecret
        self.choices = choices
    }

    /// Prefix of every environment variable the bridge reads.
    package static let environmentPrefix = "CONSENT_BRIDGE_"

    /// `CONSENT_BRIDGE_` + the name in upper snake case.
    package var environmentName: String {
        Self.environmentPrefix
            + String(name.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 })
    }

    /// `--` + the name with dots turned into dashes.
    package var commandLineFlag: String {
        "--" + String(name.map { $0 == "." ? "-" : $0 })
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.name < rhs.name }
}
