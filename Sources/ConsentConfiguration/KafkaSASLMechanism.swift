/// SASL mechanisms librdkafka 2.0.2 supports with a username and password.
package enum KafkaSASLMechanism: String, Sendable, CaseIterable {
    case plain = "PLAIN"
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA512 = "SCRAM-SHA-512"
}
