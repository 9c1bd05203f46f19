import ConsentContracts
import ConsentPolicy
import Foundation
import Testing

/// Shared fixtures: the real `Contracts/` directory, its examples, consents and events.
enum PolicyFixtures {
    /// Synthetic fødselsnumre (Skatteetaten month+80 form, valid mod-11) used by the examples.
    static let kari = "12848740088"  // referral, work-relevant-health, job status … (full consent example)
    static let ola = "03919540000"  // narrow oral consent example
    static let caseDiscussion = "28827240070"  // pre-consent case discussion / candidate
    static let young = "15860250028"

    /// 2026-10-15T10:00:00Z: inside every example consent's validity.
    static let now = Timestamp(rfc3339: "2026-10-15T10:00:00Z")!
    static let fixedCaseReference = CaseReference(rawValue: "case-0123456789abcdef0123456789abcdef")!

    static var repositoryRoot: String {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }
        return path
    }

    static var contractsDirectory: String { repositoryRoot + "/Contracts" }

    private static let loaded: Result<PolicyCatalog, any Error> = Result {
        try PolicyCatalog.load(directory: contractsDirectory)
    }

    /// The catalog loaded from the real contracts.
    static func catalog() throws -> PolicyCatalog { try loaded.get() }

    /// Bytes of `Contracts/examples/<contract>/<kind>/<name>.json`.
    static func example(_ contract: String, _ name: String, kind: String = "valid") throws -> [UInt8] {
        let path = "\(contractsDirectory)/examples/\(contract)/\(kind)/\(name).json"
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every example file name (without `.json`) of a contract and kind.
    static func exampleNames(_ contract: String, kind: String) throws -> [String] {
        let directory = "\(contractsDirectory)/examples/\(contract)/\(kind)"
        return try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// Parsed example body.
    static func exampleValue(_ contract: String, _ name: String) throws -> JSONValue {
        try StrictJSON.parse(try example(contract, name))
    }

    /// The `ce_id` of `event`'s events: a UUID, as every event contract's `eventId`.
    static let eventID = "3f0c1a52-9d4b-4e7a-b1c6-0a8e2d5f7c91"

    /// An event for `contract` carrying `body`.
    static func event(_ contract: String, body: [UInt8], time: String? = "2026-10-15T09:59:00Z") throws -> PolicyEvent {
        let plan = try #require(try catalog().plan(named: contract))
        return PolicyEvent(
            headers: CloudEventHeaders(id: Self.eventID, type: plan.contract.ceType, source: "urn:test", time: time),
            body: body, sourceTopic: plan.contract.sourceTopic)
    }

    /// The event of example `name`.
    static func exampleEvent(_ contract: String, _ name: String) throws -> PolicyEvent {
        try event(contract, body: try example(contract, name))
    }

    /// A granted consent for `patient`.
    static func consent(
        _ patient: String, version: Int64 = 1, status: ConsentRecord.Status = .granted,
        categories: ConsentCategories = [
            .identityAndContact, .ipsParticipation, .workRelevantHealth, .treatmentCoordination, .workStatus,
        ],
        roles: RecipientRoles = [.ipsJobSpecialist, .navVeileder],
        directions: ConsentDirections = [.healthToNav, .navToHealth],
        validFrom: String = "2026-03-02T08:14:00Z", validUntil: String? = nil
    ) -> ConsentRecord {
        ConsentRecord(
            patientID: patient, consentID: "3f1c2a4e-8b7d-4c1e-9a2f-5d6e7f809a1b", version: version, status: status,
            categories: categories, recipientRoles: roles, directions: directions,
            recordedBy: .init(hprNumber: "9144889", role: "behandler"), recordedAt: Timestamp(rfc3339: validFrom)!,
            validFrom: Timestamp(rfc3339: validFrom)!, validUntil: validUntil.flatMap(Timestamp.init(rfc3339:)),
            form: .written)
    }

    /// A view holding `records`.
    static func view(_ records: ConsentRecord...) -> ConsentView {
        var view = ConsentView()
        for record in records { view.apply(record) }
        return view
    }

    /// Decides with the fixed time and case reference.
    static func decide(_ event: PolicyEvent, _ view: ConsentView, now: Timestamp = now) throws -> PolicyDecision {
        PolicyEngine.decide(
            event: event, consent: view, contracts: try catalog(), now: now, caseReference: fixedCaseReference)
    }

    /// Every string anywhere in `value` (keys and values).
    static func allStrings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .array(let items): return items.flatMap(allStrings(in:))
        case .object(let object): return object.flatMap { [$0.key] + allStrings(in: $0.value) }
        default: return []
        }
    }

    /// Every property path (`/a/b`, array items as `[]`) present in `value`.
    static func paths(in value: JSONValue, prefix: String = "") -> Set<String> {
        switch value {
        case .object(let object):
            var result: Set<String> = []
            for member in object {
                let path = prefix + "/" + member.key
                result.insert(path)
                result.formUnion(paths(in: member.value, prefix: path))
            }
            return result
        case .array(let items):
            return items.reduce(into: Set<String>()) { $0.formUnion(paths(in: $1, prefix: prefix + "/[]")) }
        default:
            return []
        }
    }
}

extension PolicyDecision {
    /// The forwarded body, whichever form.
    var forwardedBody: JSONValue? {
        switch self {
        case .forward(let event): event.copies[0].body
        case .forwardAnonymous(let event): event.body
        case .reject: nil
        }
    }

    var isForward: Bool { if case .forward = self { true } else { false } }
    var isAnonymous: Bool { if case .forwardAnonymous = self { true } else { false } }
}
