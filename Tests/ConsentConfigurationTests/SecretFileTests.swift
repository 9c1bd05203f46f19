import Testing

@testable import ConsentConfiguration

@Suite("Secrets from files (`CONSENT_BRIDGE_<KEY>_FILE`, Docker/Compose secrets)")
struct SecretFileTests {
    static let files = [
        "/run/secrets/sasl-bridge-password": Planted.saslPassword + "\n",
        "/run/secrets/bridge-store-url": "postgres://bridge:\(Planted.databasePassword)@postgres-bridge/bridge\n",
        "/run/secrets/health-sealing-key": Planted.healthKey + "\n",
    ]

    @Test func secretKeysAreReadFromFilesWithoutTheTrailingNewline() throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASSWORD"] = nil
        environment["CONSENT_BRIDGE_BRIDGE_STORE"] = nil
        environment["CONSENT_BRIDGE_HEALTH_SEALING_KEY"] = nil
        environment["CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASSWORD_FILE"] = "/run/secrets/sasl-bridge-password"
        environment["CONSENT_BRIDGE_BRIDGE_STORE_FILE"] = "/run/secrets/bridge-store-url"
        environment["CONSENT_BRIDGE_HEALTH_SEALING_KEY_FILE"] = "/run/secrets/health-sealing-key"
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: environment, fileContents: nil, readSecretFile: { Self.files[$0] })
        #expect(configuration.healthKafka?.saslPassword == Planted.saslPassword)
        #expect(configuration.healthSealingKeys?.current.bytes == SealingKey.decodeKey(base64: Planted.healthKey))
        guard case .postgres(let url) = configuration.bridgeStore else {
            Issue.record("bridge store is not PostgreSQL")
            return
        }
        #expect(url.password == Planted.databasePassword && url.database == "bridge")
    }

    @Test func unreadableFileNamesTheKeyAndBothFormsAtOnceIsAConflict() throws {
        var environment = Planted.productionEnvironment
        environment["CONSENT_BRIDGE_NAV_SEALING_KEY"] = nil
        environment["CONSENT_BRIDGE_NAV_SEALING_KEY_FILE"] = "/run/secrets/missing"
        environment["CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASSWORD_FILE"] = "/run/secrets/sasl-bridge-password"
        let error = try #require(loadError(environment: environment))
        #expect(error.issues.map(\.code).contains(.unreadableFile))
        #expect(error.keys.contains("nav.sealing.key"))
        #expect(error.keys.contains("health.kafka.sasl.password"))
    }

    @Test func onlySecretKeysHaveAFileForm() throws {
        let error = try #require(
            loadError(environment: ["CONSENT_BRIDGE_EMBEDDED": "true", "CONSENT_BRIDGE_LOG_LEVEL_FILE": "/x"]))
        #expect(error.keys == ["CONSENT_BRIDGE_LOG_LEVEL_FILE"])
    }

    @Test func processLoaderReadsTheConfigFileNamedByTheEnvironment() throws {
        let files = ["/etc/cb.conf": "embedded = true\nlog.level = warning\n"]
        let configuration = try BridgeConfiguration.loadForProcess(
            arguments: [], environment: ["CONSENT_BRIDGE_CONFIG": "/etc/cb.conf"], readFile: { files[$0] })
        #expect(configuration.log.level == "warning")
        #expect(throws: ConfigurationError.self) {
            try BridgeConfiguration.loadForProcess(
                arguments: ["--config", "/nope"], environment: [:], readFile: { files[$0] })
        }
    }
}
