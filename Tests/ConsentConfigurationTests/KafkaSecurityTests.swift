import Testing

@testable import ConsentConfiguration

@Suite("Kafka security per side becomes librdkafka properties")
struct KafkaSecurityTests {
    @Test func eachSideGetsItsOwnClusterAndCredentials() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        let health = try #require(configuration.healthKafka)
        let nav = try #require(configuration.navKafka)
        #expect(
            health.librdkafkaProperties == [
                "bootstrap.servers": "kafka-1:9092,kafka-2:9092", "security.protocol": "sasl_plaintext",
                "sasl.mechanisms": "PLAIN", "sasl.username": "bridge", "sasl.password": Planted.saslPassword,
            ])
        #expect(
            nav.librdkafkaProperties == [
                "bootstrap.servers": "nav-kafka:9093", "security.protocol": "sasl_ssl",
                "ssl.ca.location": "/etc/consent-bridge/nav-ca.pem",
                "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "bridge-nav",
                "sasl.password": Planted.navSaslPassword,
            ])
        #expect(nav.redactedProperties["sasl.password"] == "<redacted>")
        #expect(!nav.description.contains(Planted.navSaslPassword))
    }

    @Test func mutualTLSProperties() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [
                "--roles", "nav-sink", "--nav-kafka-bootstrap-servers", "[::1]:9093", "--nav-kafka-security-protocol",
                "ssl",
            ] + Planted.sinkSealingArguments(side: "nav") + [
                "--nav-kafka-ssl-ca-location", "/ca.pem", "--nav-kafka-ssl-certificate-location", "/c.pem",
                "--nav-kafka-ssl-key-location", "/k.pem", "--nav-kafka-ssl-key-password", "S3cret",
            ],
            environment: [:], fileContents: nil)
        let nav = try #require(configuration.navKafka)
        #expect(nav.librdkafkaProperties["ssl.key.location"] == "/k.pem")
        #expect(nav.librdkafkaProperties["ssl.key.password"] == "S3cret")
        #expect(nav.redactedProperties["ssl.key.password"] == "<redacted>")
    }

    @Test func saslProtocolRequiresMechanismUserAndPassword() throws {
        let error = try #require(
            loadError(
                arguments: [
                    "--roles", "health-sink", "--health-kafka-bootstrap-servers", "k:9092",
                    "--health-kafka-security-protocol", "sasl_ssl",
                ] + Planted.sinkSealingArguments(side: "health")))
        #expect(
            Set(error.keys) == [
                "health.kafka.sasl.mechanism", "health.kafka.sasl.username", "health.kafka.sasl.password",
            ])
    }

    @Test func securitySettingsThatWouldBeIgnoredFailClosed() throws {
        let error = try #require(
            loadError(
                arguments: [
                    "--roles", "health-sink", "--health-kafka-bootstrap-servers", "k:9092",
                    "--health-kafka-ssl-ca-location", "/ca.pem", "--health-kafka-sasl-password", "S3cret",
                ] + Planted.sinkSealingArguments(side: "health")))
        #expect(Set(error.keys) == ["health.kafka.ssl.ca-location", "health.kafka.sasl.password"])
        #expect(!error.description.contains("S3cret"))
    }

    @Test func certificateAndKeyComeTogether() throws {
        let error = loadError(
            arguments: [
                "--roles", "health-sink", "--health-kafka-bootstrap-servers", "k:9092",
                "--health-kafka-security-protocol", "ssl",
                "--health-kafka-ssl-certificate-location", "/c.pem",
            ] + Planted.sinkSealingArguments(side: "health"))
        #expect(error?.keys == ["health.kafka.ssl.key-location"])
    }

    @Test func bootstrapServersRequiredUnlessEmbeddedAndForbiddenWhenEmbedded() throws {
        let missing = try #require(loadError(arguments: ["--roles", "bridge"], environment: [:]))
        #expect(missing.keys.contains("health.kafka.bootstrap-servers"))
        #expect(missing.keys.contains("nav.kafka.bootstrap-servers"))

        let both = try #require(loadError(arguments: ["--embedded", "--nav-kafka-bootstrap-servers", "k:9092"]))
        #expect(both.keys == ["nav.kafka.bootstrap-servers"])

        let malformed = try #require(
            loadError(
                arguments: ["--roles", "nav-sink", "--nav-kafka-bootstrap-servers", "k:9092,nohost"]
                    + Planted.sinkSealingArguments(side: "nav")))
        #expect(malformed.keys == ["nav.kafka.bootstrap-servers"])
    }

    @Test func healthProbeReachesAWildcardListenerThroughLoopback() throws {
        #expect(
            HTTPListenAddress.parse("0.0.0.0:8080")?.probeURL(path: "/health/ready")
                == "http://127.0.0.1:8080/health/ready")
        #expect(
            HTTPListenAddress.parse("[::]:9000")?.probeURL(path: "health/ready") == "http://[::1]:9000/health/ready")
        #expect(HTTPListenAddress.parse("bridge.local:80")?.probeHost == "bridge.local")
        for bad in ["8080", "host:", "host:99999", "a:b:1", "[::1]9000", ":80"] {
            #expect(HTTPListenAddress.parse(bad) == nil, "\(bad)")
        }
    }
}
