import Foundation
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
        // R9: a copy for each NAV role, to that role's own system.
        #expect(
            referral.destinations == [
                ContractDestination(role: "ips-job-specialist", topic: "nav.followup.inbound"),
                ContractDestination(role: "nav-veileder", topic: "nav.ips.inbound"),
            ])
        let jobStatus = try #require(catalog.contract(named: "job-status-update"))
        #expect(jobStatus.sourceTopic == "nav.followup.outbound")
        #expect(
            jobStatus.destinations == [ContractDestination(role: "ips-job-specialist", topic: "health.ips.inbound")])
        #expect(referral.field(at: ["patient", "fodselsnummer"])?.classification == .directIdentifier)
        #expect(catalog.version.hasPrefix("sha256:"))
        #expect(catalog.version.count == 7 + 64)
    }
}

@Suite("Contract field flattening")
struct ContractFlatteningTests {
    @Test("R6/R8: every property at every depth gets a rule, through $ref and array items")
    func flattensThroughReferencesAndArrays() throws {
        let catalog = try ContractCatalog.load(directory: TestPaths.fixtures + "/flatten")
        let contract = try #require(catalog.contract(forCEType: "no.ips.health.sample.v1"))
        let paths = contract.fields.map { $0.path.joined(separator: ".") }
        #expect(
            paths == [
                "eventId", "patient", "patient.fodselsnummer", "patient.municipality", "goals", "goals.[]",
                "contacts", "contacts.[]", "contacts.[].phone", "contacts.[].since",
            ])
        #expect(contract.field(at: ["patient"])?.isObject == true)
        #expect(contract.field(at: ["patient", "municipality"])?.generalization == "county")
        #expect(contract.field(at: ["goals", "[]"])?.consentCategory == "work-status")
        #expect(contract.field(at: ["goals", "[]"])?.classification == .workRelated)
        #expect(contract.field(at: ["contacts", "[]", "phone"])?.classification == .directIdentifier)
        #expect(contract.subjectPath == ["patient", "fodselsnummer"])
        #expect(contract.requiredForForwarding == [["eventId"], ["patient", "fodselsnummer"]])
        #expect(contract.hasAnonymousForm)
    }

    @Test("the catalog version is stable across loads and changes when a schema changes")
    func versionIsStable() throws {
        let first = try ContractCatalog.load(directory: TestPaths.fixtures + "/flatten").version
        let second = try ContractCatalog.load(directory: TestPaths.fixtures + "/flatten").version
        #expect(first == second)
        #expect(first != (try ContractCatalog.load(directory: TestPaths.contracts).version))
    }

    @Test("R2: a contract with an anonymous form does not load without its derived schema, or with a stale one")
    func anonymousFormSchemaMustMatchItsDerivation() throws {
        let source = TestPaths.fixtures + "/flatten/schemas"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("anon-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/schemas", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: source + "/sample.schema.json", toPath: directory + "/schemas/sample.schema.json")
        let missing = #expect(throws: ContractLoadError.self) { try ContractCatalog.load(directory: directory) }
        #expect(missing?.description.contains("sample.anonymous.schema.json") == true)

        // The derivation removes the direct identifier and generalizes the municipality.
        let base = try StrictJSON.parse(
            Array(try Data(contentsOf: URL(fileURLWithPath: source + "/sample.schema.json"))))
        var derived = try #require(AnonymousFormSchema.derive(from: base, name: "sample")?.objectValue)
        let patient = try #require(
            derived["properties"]?.objectValue?["patient"]?.objectValue?["properties"]?.objectValue)
        #expect(patient["fodselsnummer"] == nil)
        #expect(patient["municipality"]?.objectValue?["pattern"]?.stringValue == "^[0-9]{2}$")
        #expect(derived["x-ce-type"]?.stringValue == "no.ips.health.sample.anonymous.v1")

        // A hand edit that lets the identifier back in is caught.
        var properties = try #require(derived["properties"]?.objectValue)
        properties["fodselsnummer"] = .object(
            JSONObject(uniqueMembers: [
                .init(key: "type", value: .string("string")),
                .init(key: "x-classification", value: .string("operational")),
            ]))
        derived["properties"] = .object(properties)
        #expect(
            FileManager.default.createFile(
                atPath: directory + "/schemas/sample.anonymous.schema.json",
                contents: Data(JSONValue.object(derived).prettyBytes())))
        let stale = #expect(throws: ContractLoadError.self) { try ContractCatalog.load(directory: directory) }
        #expect(stale?.description.contains("differs") == true)
    }

    @Test("SHA-256 matches the FIPS 180-4 test vectors")
    func sha256Vectors() {
        var empty = SHA256()
        #expect(empty.finalizeHex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        #expect(abc.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        long.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(long.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        for _ in 0..<1000 { million.update([UInt8](repeating: UInt8(ascii: "a"), count: 1000)) }
        #expect(million.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
