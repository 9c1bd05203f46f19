import Testing

@testable import ConsentConfiguration

@Suite("config check can verify every file the configuration names")
struct ReferencedPathTests {
    @Test func tlsFilesAndContractsDirectoryAreListedByKey() throws {
        let configuration = try BridgeConfiguration.load(arguments: [], environment: Planted.productionEnvironment, fileContents: nil)
        let paths = configuration.referencedPaths.map { "\($0.key)=\($0.path)" }
        #expect(paths == ["contracts.directory=Contracts", "nav.kafka.ssl.ca-location=/etc/consent-bridge/nav-ca.pem"])
    }
}
