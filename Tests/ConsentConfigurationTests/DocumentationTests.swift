import Foundation
import Testing

@testable import ConsentConfiguration

@Suite("docs/configuration.md documents every key exactly as the code reads it")
struct DocumentationTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Set `CONSENT_BRIDGE_TEST_UPDATE_DOCS=1` to rewrite the generated table in place.
    @Test func committedKeyTableMatchesTheCode() throws {
        let url = Self.repositoryRoot.appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: url, encoding: .utf8)
        let begin = try #require(
            text.range(of: ConfigurationDocumentation.beginMarker), "docs/configuration.md has no generated table")
        let end = try #require(
            text.range(of: ConfigurationDocumentation.endMarker + "\n", range: begin.upperBound..<text.endIndex))
        let committed = String(text[begin.lowerBound..<end.upperBound])
        let generated = ConfigurationDocumentation.keyTable()
        if committed != generated, ProcessInfo.processInfo.environment["CONSENT_BRIDGE_TEST_UPDATE_DOCS"] == "1" {
            try text.replacingCharacters(in: begin.lowerBound..<end.upperBound, with: generated)
                .write(to: url, atomically: true, encoding: .utf8)
            return
        }
        #expect(
            committed == generated,
            "docs/configuration.md is out of date: run CONSENT_BRIDGE_TEST_UPDATE_DOCS=1 swift test --filter ConsentConfigurationTests"
        )
    }

    @Test func everySpellingIsUniqueAndDerivedFromTheDottedName() {
        let keys = ConfigurationKey.all
        #expect(Set(keys.map(\.name)).count == keys.count)
        #expect(Set(keys.map(\.environmentName)).count == keys.count)
        #expect(Set(keys.map(\.commandLineFlag)).count == keys.count)
        let bootstrap = ConfigurationKey.named("health.kafka.bootstrap-servers")
        #expect(bootstrap?.environmentName == "CONSENT_BRIDGE_HEALTH_KAFKA_BOOTSTRAP_SERVERS")
        #expect(bootstrap?.commandLineFlag == "--health-kafka-bootstrap-servers")
    }

    @Test func everyLiteralDefaultIsAcceptedByTheLoader() throws {
        // Loading with every default explicitly set on the command line must succeed and
        // give the same result as not setting them: documented default == actual default.
        var arguments = ["--embedded"]
        for key in ConfigurationKey.all {
            // Kafka keys cannot be combined with `embedded` (tested in KafkaSecurityTests).
            guard let value = key.defaultDescription, !value.contains("<"), key.name != "embedded",
                !key.name.contains(".kafka.")
            else { continue }
            arguments += [key.commandLineFlag, value]
        }
        let explicit = try BridgeConfiguration.load(arguments: arguments, environment: [:], fileContents: nil)
        let implicit = try BridgeConfiguration.load(arguments: ["--embedded"], environment: [:], fileContents: nil)
        func values(_ configuration: BridgeConfiguration) -> [Substring] {
            configuration.redactedDescription.split(separator: "\n").map { $0.split(separator: "  # ").first ?? $0 }
        }
        #expect(values(explicit) == values(implicit))
    }
}
