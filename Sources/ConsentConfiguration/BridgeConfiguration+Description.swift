extension BridgeConfiguration: CustomStringConvertible {
    /// One `key = value  # source` line per key, secrets redacted: what `config print` shows
    /// and the only form of the configuration that may be logged.
    package var redactedDescription: String {
        ConfigurationKey.all.map { key in
            let source = sources[key.name].map { "  # \($0)" } ?? ""
            return "\(key.name) = \(displayValue(of: key))\(source)"
        }.joined(separator: "\n")
    }

    package var description: String { redactedDescription }

    /// The effective value of `key` as safe text: secrets are `<redacted>` (stores show their
    /// location without the password), unset keys `<not set>`.
    package func displayValue(of key: ConfigurationKey) -> String {
        let side = key.name.hasPrefix("health.") ? "health" : "nav"
        let kafka = side == "health" ? healthKafka : navKafka
        let keys = side == "health" ? healthSealingKeys : navSealingKeys
        let value: String? =
            switch key.name {
            case "roles": roles.sorted().map(\.rawValue).joined(separator: ",")
            case "embedded": String(isEmbedded)
            case "data.directory": dataDirectory
            case "contracts.directory": contractsDirectory
            case "bridge.store": bridgeStore?.description
            case "health.store": healthStore?.description
            case "nav.store": navStore?.description
            case "followup.store": followUpStore?.description
            case "bridge.group-id": bridgeGroupID
            case "health-sink.group-id": healthSinkGroupID
            case "nav-sink.group-id": navSinkGroupID
            case "followup-sink.group-id": followUpSinkGroupID
            case "health.kafka.bootstrap-servers", "nav.kafka.bootstrap-servers": kafka?.bootstrapServers
            case "health.kafka.security-protocol", "nav.kafka.security-protocol": kafka?.securityProtocol.rawValue
            case "health.kafka.ssl.ca-location", "nav.kafka.ssl.ca-location": kafka?.caLocation
            case "health.kafka.ssl.certificate-location", "nav.kafka.ssl.certificate-location":
                kafka?.certificateLocation
            case "health.kafka.ssl.key-location", "nav.kafka.ssl.key-location": kafka?.keyLocation
            case "health.kafka.ssl.key-password", "nav.kafka.ssl.key-password":
                kafka?.keyPassword.map { _ in "<redacted>" }
            case "health.kafka.sasl.mechanism", "nav.kafka.sasl.mechanism": kafka?.saslMechanism?.rawValue
            case "health.kafka.sasl.username", "nav.kafka.sasl.username": kafka?.saslUsername
            case "health.kafka.sasl.password", "nav.kafka.sasl.password": kafka?.saslPassword.map { _ in "<redacted>" }
            case "health.sealing.key-id", "nav.sealing.key-id": keys?.current.id
            case "health.sealing.key", "nav.sealing.key": keys.map { _ in "<redacted>" }
            case "health.sealing.previous-key-id", "nav.sealing.previous-key-id": keys?.previous?.id
            case "health.sealing.previous-key", "nav.sealing.previous-key": keys?.previous.map { _ in "<redacted>" }
            case "pipeline.batch-size": String(batchSize)
            case "pipeline.batch-linger-ms": String(batchLingerMilliseconds)
            case "kafka.session-timeout-ms": String(kafkaSessionTimeoutMilliseconds)
            case "kafka.fetch-wait-max-ms": String(kafkaFetchWaitMaxMilliseconds)
            case "relay.retry-initial-backoff-ms": String(retryInitialBackoffMilliseconds)
            case "relay.retry-max-backoff-ms": String(retryMaxBackoffMilliseconds)
            case "relay.shutdown-drain-ms": String(relayShutdownDrainMilliseconds)
            case "rejections.sealed-payload-retention-hours": String(sealedPayloadRetentionHours)
            case "http.listen-address": httpListenAddress.description
            case "agreements.registry": agreementsRegistry
            case "operator.viewer-tokens":
                operatorAccess.viewerTokens.isEmpty ? nil : "<redacted: \(operatorAccess.viewerTokens.count)>"
            case "operator.operator-tokens":
                operatorAccess.operatorTokens.isEmpty ? nil : "<redacted: \(operatorAccess.operatorTokens.count)>"
            case "operator.known-sources": knownSources.isEmpty ? nil : knownSources.joined(separator: ",")
            case "log.level": log.level
            case "log.format": log.format.rawValue
            default: topicName(for: key.name)
            }
        // Belt and braces: a secret key whose case above was forgotten still prints nothing.
        if key.isSecret, let value, !key.name.hasSuffix(".store") {
            return value.hasPrefix("<redacted") ? value : "<redacted>"
        }
        return value ?? "<not set>"
    }

    private func topicName(for key: String) -> String? {
        switch key {
        case "topics.health-consent": topics.healthConsent
        case "topics.health-outbound": topics.healthOutbound
        case "topics.nav-outbound": topics.navOutbound
        case "topics.nav-inbound": topics.navInbound
        case "topics.health-inbound": topics.healthInbound
        case "topics.health-receipts": topics.healthReceipts
        case "topics.nav-receipts": topics.navReceipts
        case "topics.health-disclosures": topics.healthDisclosures
        case "topics.nav-disclosures": topics.navDisclosures
        case "topics.rejected": topics.rejected
        case "topics.health-breaches": topics.healthBreaches
        case "topics.nav-breaches": topics.navBreaches
        case "topics.followup-outbound": topics.followUpOutbound
        case "topics.followup-inbound": topics.followUpInbound
        case "topics.followup-receipts": topics.followUpReceipts
        case "topics.followup-disclosures": topics.followUpDisclosures
        default: nil
        }
    }
}
