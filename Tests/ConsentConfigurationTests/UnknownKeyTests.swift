import Testing

@testable import ConsentConfiguration

@Suite("Unknown and duplicate keys are errors (a typo must not fall back to a default)")
struct UnknownKeyTests {
    @Test func unknownFileKeysAreListed() throws {
        let file = """
            embedded = true
            helth.kafka.bootstrap-servers = kafka:9092
            pipeline.batchsize = 10
            """
        let error = try #require(loadError(file: file))
        #expect(error.keys == ["helth.kafka.bootstrap-servers", "pipeline.batchsize"])
        #expect(error.issues.allSatisfy { $0.code == .unknownKey })
        #expect(error.issues.map(\.source) == [.file(line: 2), .file(line: 3)])
    }

    @Test func unknownEnvironmentVariableWithOurPrefixIsAnError() throws {
        let error = try #require(
            loadError(environment: [
                "CONSENT_BRIDGE_EMBEDDED": "true", "CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASWORD": "S3cret",
            ]))
        #expect(error.keys == ["CONSENT_BRIDGE_HEALTH_KAFKA_SASL_PASWORD"])
        #expect(!error.description.contains("S3cret"))
    }

    @Test func unrelatedAndHarnessVariablesAreIgnored() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [],
            environment: [
                "CONSENT_BRIDGE_EMBEDDED": "true", "PATH": "/usr/bin", "CONSENT_BRIDGE_BIN": "/x",
                "CONSENT_BRIDGE_CONFIG": "/etc/c", "CONSENT_BRIDGE_TEST_POSTGRES_URL": "postgres://x",
            ],
            fileContents: nil)
        #expect(configuration.isEmbedded)
    }

    @Test func unknownCommandLineOptionAndStrayArgument() throws {
        let error = try #require(loadError(arguments: ["--embedded", "--bogus", "1", "stray"]))
        #expect(error.keys == ["--bogus", "argument 4"])
    }

    @Test func optionWithoutValueAndRepeatedOption() throws {
        #expect(loadError(arguments: ["--embedded", "--log-level"])?.keys == ["log.level"])
        #expect(
            loadError(arguments: ["--embedded", "--log-level", "info", "--log-level=debug"])?.keys == ["log.level"])
    }

    @Test func fileSyntaxDuplicatesAndQuoting() throws {
        let file = """
            # comment
            embedded = true

            log.level = "debug"
            contracts.directory = "/srv/contracts with \\"quotes\\""
            data.directory = /var/lib/consent bridge # not a comment: bare values are taken whole
            log.level = info
            this line has no equals sign S3cret
            Bad_Key = x
            """
        let error = try #require(loadError(file: file))
        #expect(error.issues.map(\.code) == [.duplicateKey, .syntax, .syntax])
        #expect(error.issues.map(\.source) == [.file(line: 7), .file(line: 8), .file(line: 9)])
        #expect(!error.description.contains("S3cret"))

        let valid = try BridgeConfiguration.load(
            arguments: [], environment: [:],
            fileContents: file.split(separator: "\n", omittingEmptySubsequences: false).prefix(6).joined(
                separator: "\n"))
        #expect(valid.log.level == "debug")
        #expect(valid.contractsDirectory == "/srv/contracts with \"quotes\"")
        #expect(valid.dataDirectory == "/var/lib/consent bridge # not a comment: bare values are taken whole")
    }
}
