import Foundation
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

    /// `CONSENT_BRIDGE_OPERATOR_TOKEN` (the `rejections` command's token, docs/operations.md) and
    /// `CONSENT_BRIDGE_BENCH_POSTGRES_URL` (`bench bridge --help`) are documented variables, not
    /// keys: an operator who exports one as documented can still run every other command.
    @Test func documentedVariablesThatAreNotKeysAreIgnored() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [],
            environment: [
                "CONSENT_BRIDGE_EMBEDDED": "true", "CONSENT_BRIDGE_OPERATOR_TOKEN": "operator-token-0123456789abcdef",
                "CONSENT_BRIDGE_BENCH_POSTGRES_URL": "postgres://bench:S3cret@127.0.0.1:5432/postgres",
            ],
            fileContents: nil)
        #expect(configuration.isEmbedded)
        // A near miss is still an error.
        let error = try #require(
            loadError(environment: ["CONSENT_BRIDGE_EMBEDDED": "true", "CONSENT_BRIDGE_OPERATOR_TOKENS": "x"]))
        #expect(error.keys == ["CONSENT_BRIDGE_OPERATOR_TOKENS"])
    }

    @Test func docsListEveryIgnoredVariable() throws {
        let text = try String(
            contentsOf: DocumentationTests.repositoryRoot.appendingPathComponent("docs/configuration.md"),
            encoding: .utf8)
        for name in ConfigurationLayers.ignoredVariables.sorted() + [ConfigurationLayers.ignoredVariablePrefix + "*"] {
            #expect(text.contains("`\(name)`"), "docs/configuration.md does not list \(name) as ignored")
        }
        #expect(ConfigurationLayers.ignoredVariables.contains("CONSENT_BRIDGE_OPERATOR_TOKEN"))
        #expect(ConfigurationLayers.ignoredVariables.contains("CONSENT_BRIDGE_BENCH_POSTGRES_URL"))
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
