import Testing
@testable import ConsentContracts

@Suite("Contract catalog")
struct ContractCatalogTests {
    @Test("the repository's contracts load and every message is indexed by ce_type")
    func repositoryContractsLoad() throws {
        let catalog: ContractCatalog
        do {
            catalog = try ContractCatalog.load(directory: TestPaths.contracts)
        } catch let error as ContractLoadError {
            Issue.record("\(error)")
            return
        }
        #expect(catalog.contracts.count >= 10)
        let referral = try #require(catalog.contract(forCEType: "no.ips.health.referral.v1"))
        #expect(referral.direction == .healthToNav)
        #expect(referral.subjectPath == ["patient", "fodselsnummer"])
        #expect(referral.destinationTopic == "nav.ips.inbound")
        #expect(referral.field(at: ["patient", "fodselsnummer"])?.classification == .directIdentifier)
        #expect(catalog.version.hasPrefix("sha256:"))
        #expect(catalog.version.count == 7 + 64)
    }
}
