import Foundation

@testable import ConsentConfiguration

/// Values the tests plant so they can assert that they never show up in text.
enum Planted {
    static let healthKey = Data((0..<32).map { UInt8($0) }).base64EncodedString()
    static let navKey = Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString()
    static let navPreviousKey = Data((0..<32).map { UInt8(($0 * 7) % 256) }).base64EncodedString()
    static let saslPassword = "S3cret-sasl-PASSWORD-health"
    static let navSaslPassword = "S3cret-sasl-PASSWORD-nav"

    /// The sealing key a sink of `side` needs outside embedded mode (what it quarantines, R10).
    static func sinkSealingArguments(side: String) -> [String] {
        ["--\(side)-sealing-key-id", "\(side)-sink-1", "--\(side)-sealing-key", side == "health" ? healthKey : navKey]
    }
    static let databasePassword = "S3cret-db-PASSWORD"

    /// A complete production-style environment (the form docker-compose uses).
    static var productionEnvironment: [String: String] {
        [
            "CONSENT_BRIDGE_ROLES": "bridge",
            "CONSENT_BRIDGE_BRIDGE_STORE":
                "postgres://bridge:\(databasePassword)@postgres-bridge:5432/bridge?sslmode=disable",
            "CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS": "kafka-1:9092,kafka-2:9092",
            "CONSENT_BRIDGE_HEALTH_KAFKA_SECURITY_PROTOCOL": "sasl_plaintext",
            "CONSENT_BRIDGE_HEALTH_KAFKA_SASL_MECHANISM": "PLAIN",
            "CONSENT_BRIDGE_HEALTH_KAFKA_SASL_USERNAME": "bridge",
            "CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASSWORD": saslPassword,
            "CONSENT_BRIDGE_NAV_KAFKA_BOOTSTRAP_SERVERS": "nav-kafka:9093",
            "CONSENT_BRIDGE_NAV_KAFKA_SECURITY_PROTOCOL": "sasl_ssl",
            "CONSENT_BRIDGE_NAV_KAFKA_SSL_CA_LOCATION": "/etc/consent-bridge/nav-ca.pem",
            "CONSENT_BRIDGE_NAV_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "CONSENT_BRIDGE_NAV_KAFKA_SASL_USERNAME": "bridge-nav",
            "CONSENT_BRIDGE_NAV_KAFKA_SASL_PASSWORD": navSaslPassword,
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY_ID": "health-2026-11",
            "CONSENT_BRIDGE_HEALTH_SEALING_KEY": healthKey,
            "CONSENT_BRIDGE_NAV_SEALING_KEY_ID": "nav-2026-11",
            "CONSENT_BRIDGE_NAV_SEALING_KEY": navKey,
            "CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY_ID": "nav-2026-05",
            "CONSENT_BRIDGE_NAV_SEALING_PREVIOUS_KEY": navPreviousKey,
            "CONSENT_BRIDGE_AGREEMENTS_REGISTRY": "/etc/consent-bridge/ips-agreements.json",
        ]
    }

    static var secrets: [String] {
        [healthKey, navKey, navPreviousKey, saslPassword, navSaslPassword, databasePassword]
    }
}

/// Loads and returns the error, or records a failure when loading succeeds.
func loadError(
    arguments: [String] = [], environment: [String: String] = [:], file: String? = nil
) -> ConfigurationError? {
    do {
        _ = try BridgeConfiguration.load(arguments: arguments, environment: environment, fileContents: file)
        return nil
    } catch {
        return error
    }
}

/// The embedded set-up needs no other key: the smallest valid configuration.
let embeddedEnvironment = ["CONSENT_BRIDGE_EMBEDDED": "true"]
