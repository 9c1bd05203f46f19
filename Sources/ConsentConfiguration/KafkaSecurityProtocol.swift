/// librdkafka's `security.protocol` values (lower case, as librdkafka documents them).
package enum KafkaSecurityProtocol: String, Sendable, CaseIterable {
    case plaintext, ssl
    case saslPlaintext = "sasl_plaintext"
    case saslSSL = "sasl_ssl"

    /// Whether the connection is encrypted with TLS.
    package var usesTLS: Bool { self == .ssl || self == .saslSSL }
    /// Whether the client authenticates with SASL.
    package var usesSASL: Bool { self == .saslPlaintext || self == .saslSSL }
}
