/// Settings shared by every Kafka client: where the brokers are and any extra librdkafka
/// properties (security, tuning).
///
/// `properties` are passed to librdkafka as they are (e.g. `security.protocol`,
/// `ssl.ca.location`, `sasl.mechanism`, `sasl.username`, `sasl.password`). librdkafka 2.0.2
/// rejects keys it does not know, so a typo fails at start-up instead of being ignored.
package struct KafkaClientConfiguration: Sendable {
    /// Comma-separated `host:port` list.
    package var bootstrapServers: String
    /// Extra librdkafka properties; they override the client's defaults.
    package var properties: [String: String]
    /// `client.id`, visible in broker logs and metrics.
    package var clientID: String

    /// A configuration; `properties` override every default, `client.id` and the bootstrap list included.
    package init(bootstrapServers: String, clientID: String = "consent-bridge", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// Defaults, then the bootstrap list and client id, then the caller's properties.
    func librdkafkaProperties(defaults: [String: String]) -> [String: String] {
        var merged = defaults
        merged["bootstrap.servers"] = bootstrapServers
        merged["client.id"] = clientID
        merged.merge(properties) { _, custom in custom }
        return merged
    }
}

extension KafkaClientConfiguration: CustomStringConvertible {
    /// The brokers, the client id and the properties, secrets redacted. A service holding a
    /// configuration is described with it: swift-service-lifecycle names each service
    /// `"\(service)"`, logs that name ("Starting service", debug) and puts it in the error a
    /// process exits with, and before this the dump carried `sasl.password` in clear (found in
    /// review, 2026-12-07).
    package var description: String {
        let shown = properties.sorted { $0.key < $1.key }.map {
            "\($0.key)=\(Self.isSecret($0.key) ? "<redacted>" : $0.value)"
        }
        return
            "KafkaClientConfiguration(bootstrapServers: \(bootstrapServers), clientID: \(clientID), properties: [\(shown.joined(separator: ", "))])"
    }
}

extension KafkaClientConfiguration {
    /// Keys whose values are secrets: never echoed in errors or logs.
    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return lowered.contains("password") || lowered.contains("secret") || lowered.hasSuffix(".key.pem")
            || lowered.contains("sasl.oauthbearer.config") || lowered.hasSuffix("key.password")
    }
}
