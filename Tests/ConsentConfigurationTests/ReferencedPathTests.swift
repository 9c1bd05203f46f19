import Testing

@testable import ConsentConfiguration

@Suite("config check can verify every file the configuration names")
struct ReferencedPathTests {
    @Test("TLS files, the contracts directory and the IPS agreements registry are listed by key")
    func tlsFilesAndContractsDirectoryAreListedByKey() throws {
        let configuration = try BridgeConfiguration.load(
            arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        let paths = configuration.referencedPaths.map { "\($0.key)=\($0.path)" }
        #expect(
            paths == [
                "contracts.directory=Contracts", "agreements.registry=/etc/consent-bridge/ips-agreements.json",
                "nav.kafka.ssl.ca-location=/etc/consent-bridge/nav-ca.pem",
            ])
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
