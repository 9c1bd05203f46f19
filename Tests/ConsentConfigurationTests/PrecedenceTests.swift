import Testing

@testable import ConsentConfiguration

@Suite("Configuration precedence: command line > environment > file > defaults")
struct PrecedenceTests {
    @Test func commandLineBeatsEnvironmentBeatsFileBeatsDefault() throws {
        let file = "embedded = true\npipeline.batch-size = 300\nkafka.fetch-wait-max-ms = 250\nlog.level = debug\n"
        let environment = ["CONSENT_BRIDGE_PIPELINE_BATCH_SIZE": "200", "CONSENT_BRIDGE_KAFKA_FETCH_WAIT_MAX_MS": "50"]
        let configuration = try BridgeConfiguration.load(
            arguments: ["--pipeline-batch-size", "100"], environment: environment, fileContents: file)
        #expect(configuration.batchSize == 100)
        #expect(configuration.sources["pipeline.batch-size"] == .commandLine)
        #expect(configuration.kafkaFetchWaitMaxMilliseconds == 50)
        #expect(configuration.sources["kafka.fetch-wait-max-ms"] == .environment)
        #expect(configuration.log.level == "debug")
        #expect(configuration.sources["log.level"] == .file(line: 4))
        #expect(configuration.retryMaxBackoffMilliseconds == 30_000)
        #expect(configuration.sources["relay.retry-max-backoff-ms"] == .defaultValue)
    }

    @Test func equalsFormAndBareBooleanFlagOnTheCommandLine() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: ["--embedded", "--log-format=json"],
            environment: [:], fileContents: nil)
        #expect(configuration.isEmbedded)
        #expect(configuration.log.format == .json)
    }

    @Test func configFileOptionIsNotAKeyAndIsFoundForTheCaller() throws {
        let arguments = ["--config", "/etc/consent-bridge.conf", "--embedded"]
        #expect(
            ConfigurationLayers.configFilePath(arguments: arguments, environment: [:]) == "/etc/consent-bridge.conf")
        #expect(
            ConfigurationLayers.configFilePath(arguments: ["--config=/a"], environment: ["CONSENT_BRIDGE_CONFIG": "/b"])
                == "/a")
        #expect(ConfigurationLayers.configFilePath(arguments: [], environment: ["CONSENT_BRIDGE_CONFIG": "/b"]) == "/b")
        let configuration = try BridgeConfiguration.load(arguments: arguments, environment: [:], fileContents: nil)
        #expect(configuration.isEmbedded)
    }

    @Test func defaultsMatchTheArchitectureTopicTableAndEmbeddedSQLiteStores() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: embeddedEnvironment, fileContents: nil)
        #expect(configuration.roles == Set(BridgeRole.allCases))
        #expect(configuration.topics.healthConsent == "health.consent")
        #expect(configuration.topics.rejected == "bridge.rejected")
        #expect(configuration.topics == TopicNames.defaults)
        #expect(configuration.bridgeStore == .sqlite(path: "data/bridge.sqlite"))
        #expect(configuration.healthStore == .sqlite(path: "data/health.sqlite"))
        #expect(configuration.navStore == .sqlite(path: "data/nav.sqlite"))
        #expect(configuration.httpListenAddress == HTTPListenAddress(host: "127.0.0.1", port: 8080))
        #expect(configuration.healthKafka == nil && configuration.navKafka == nil)
    }

    @Test func rolesSelectWhichStoresAndSidesAreNeeded() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: ["--roles", "health-sink"] + Planted.sinkSealingArguments(side: "health"),
            environment: [
                "CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
                "CONSENT_BRIDGE_HEALTH_STORE": "/var/lib/health.sqlite",
            ],
            fileContents: nil)
        #expect(configuration.roles == [.healthSink])
        #expect(configuration.healthStore == .sqlite(path: "/var/lib/health.sqlite"))
        #expect(configuration.bridgeStore == nil && configuration.navStore == nil)
        // The NAV cluster is optional for a health sink: its breach notices to NAV go through
        // the health cluster unless `nav.kafka.*` names NAV's own (R10).
        #expect(configuration.navKafka == nil)
        #expect(configuration.healthSealingKeys?.current.id == "health-sink-1")
        #expect(configuration.navSealingKeys == nil)
    }

    @Test func R10_aSinkNeedsItsSidesSealingKeyForWhatItQuarantines() throws {
        for side in ["health", "nav"] {
            let error = try #require(
                loadError(arguments: ["--roles", "\(side)-sink", "--\(side)-kafka-bootstrap-servers", "kafka:9092"]))
            #expect(Set(error.keys) == ["\(side).sealing.key", "\(side).sealing.key-id"])
            #expect(error.description.contains("required by role `\(side)-sink`"))
        }
        // With the other side's cluster named, it is validated and used for that party's notices.
        let configuration = try BridgeConfiguration.load(
            arguments: [
                "--roles", "nav-sink", "--nav-kafka-bootstrap-servers", "nav:9092", "--health-kafka-bootstrap-servers",
                "health:9092",
            ]
                + Planted.sinkSealingArguments(side: "nav"),
            environment: [:], fileContents: nil)
        #expect(configuration.healthKafka?.bootstrapServers == "health:9092")
    }
}
