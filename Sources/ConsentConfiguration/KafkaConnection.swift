/// How to reach and authenticate to one side's Kafka cluster.
///
/// `librdkafkaProperties` is what the Kafka module hands to `rd_kafka_conf_set`;
/// `redactedProperties` is the same map safe to print.
package struct KafkaConnection: Sendable, Hashable, CustomStringConvertible {
    /// Comma-separated `host:port` list.
    package var bootstrapServers: String
    /// `security.protocol`.
    package var securityProtocol: KafkaSecurityProtocol
    /// `ssl.ca.location`: CA file to verify the brokers.
    package var caLocation: String?
    /// `ssl.certificate.location`: client certificate (mutual TLS).
    package var certificateLocation: String?
    /// `ssl.key.location`: client private key (mutual TLS).
    package var keyLocation: String?
    /// `ssl.key.password` (secret).
    package var keyPassword: String?
    /// `sasl.mechanisms`.
    package var saslMechanism: KafkaSASLMechanism?
    /// `sasl.username`: the Kafka principal.
    package var saslUsername: String?
    /// `sasl.password` (secret).
    package var saslPassword: String?

    /// A connection; the loader validates combinations, this initializer takes them as given.
    package init(
        bootstrapServers: String, securityProtocol: KafkaSecurityProtocol = .plaintext,
        caLocation: String? = nil, certificateLocation: String? = nil, keyLocation: String? = nil,
        keyPassword: String? = nil, saslMechanism: KafkaSASLMechanism? = nil,
        saslUsername: String? = nil, saslPassword: String? = nil
    ) {
        self.bootstrapServers = bootstrapServers
        self.securityProtocol = securityProtocol
        self.caLocation = caLocation
        self.certificateLocation = certificateLocation
        self.keyLocation = keyLocation
        self.keyPassword = keyPassword
        self.saslMechanism = saslMechanism
        self.saslUsername = saslUsername
        self.saslPassword = saslPassword
    }

    /// librdkafka property names whose values are secrets.
    package static let secretProperties: Set<String> = ["ssl.key.password", "sasl.password"]

    /// Connection and security properties for librdkafka (client-specific ones, such as
    /// `group.id` or `enable.idempotence`, are added by the Kafka module).
    package var librdkafkaProperties: [String: String] {
        var properties = [
            "bootstrap.servers": bootstrapServers,
            "security.protocol": securityProtocol.rawValue,
        ]
        properties["ssl.ca.location"] = caLocation
        properties["ssl.certificate.location"] = certificateLocation
        properties["ssl.key.location"] = keyLocation
        properties["ssl.key.password"] = keyPassword
        properties["sasl.mechanisms"] = saslMechanism?.rawValue
        properties["sasl.username"] = saslUsername
        properties["sasl.password"] = saslPassword
        return properties
    }

    /// `librdkafkaProperties` with secret values replaced by `<redacted>`.
    package var redactedProperties: [String: String] {
        var properties = librdkafkaProperties
        for name in Self.secretProperties where properties[name] != nil { properties[name] = "<redacted>" }
        return properties
    }

    package var description: String {
        redactedProperties.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
