import Testing

@testable import ConsentConfiguration

@Suite("config check verifies every file the configuration names")
struct ReferencedPathTests {
    @Test(
        "a missing TLS file, contracts directory or IPS agreements registry is named by key, beside every other problem"
    )
    func missingFilesAreReportedWithEveryOtherProblem() throws {
        var checked: [String] = []
        let error = #expect(throws: ConfigurationError.self) {
            _ = try BridgeConfiguration.load(
                arguments: ["--pipeline-batch-size", "0"], environment: Planted.productionEnvironment,
                fileContents: nil,
                fileExists: {
                    checked.append($0)
                    return false
                })
        }
        // Before, the files were looked at only once every value was valid: an operator fixed
        // the batch size and only then learnt of the missing registry.
        #expect(
            Set(error?.keys ?? []) == [
                "pipeline.batch-size", "contracts.directory", "agreements.registry", "nav.kafka.ssl.ca-location",
            ])
        #expect(checked == ["Contracts", "/etc/consent-bridge/ips-agreements.json", "/etc/consent-bridge/nav-ca.pem"])
        // Like every message, these name keys, not values (a path in a store URL's place could
        // carry a password).
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("agreements.registry") && !text.contains("/etc/consent-bridge"), "\(text)")
        #expect(error?.issues.filter { $0.code == .missingFile }.count == 3)
    }

    @Test("an embedded bridge's development registry is checked where contracts.directory puts it")
    func embeddedDevelopmentRegistryIsChecked() throws {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try BridgeConfiguration.load(
                arguments: ["--embedded", "true", "--roles", "bridge", "--contracts-directory", "/srv/contracts"],
                environment: [:], fileContents: nil, fileExists: { $0 == "/srv/contracts" })
        }
        #expect(error?.keys == ["agreements.registry"])
        _ = try BridgeConfiguration.load(
            arguments: ["--embedded", "true", "--roles", "bridge", "--contracts-directory", "/srv/contracts"],
            environment: [:], fileContents: nil, fileExists: { $0.hasPrefix("/srv/contracts") })
    }

    @Test("run leaves files to the components that open them: no check without a checker")
    func filesAreNotCheckedWhenLoadingForRun() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        #expect(configuration.agreementsRegistry == "/etc/consent-bridge/ips-agreements.json")
    }

    @Test(
        "R14: a bridge outside embedded runs names its registry of IPS agreements; embedded runs use the development one"
    )
    func R14_agreementsRegistryIsRequiredOutsideEmbeddedRuns() throws {
        var environment = Planted.productionEnvironment
        environment.removeValue(forKey: "CONSENT_BRIDGE_AGREEMENTS_REGISTRY")
        do {
            _ = try BridgeConfiguration.load(arguments: [], environment: environment, fileContents: nil)
            Issue.record("a production bridge started without a registry of IPS agreements")
        } catch {
            #expect(error.keys == ["agreements.registry"])
        }
        let embedded = try BridgeConfiguration.load(
            arguments: ["--embedded", "true", "--roles", "bridge"], environment: [:], fileContents: nil)
        #expect(embedded.agreementsRegistry == "Contracts/registry/ips-agreements.development.json")
    }
}
