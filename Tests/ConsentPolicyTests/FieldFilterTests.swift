import ConsentContracts
import Testing

@testable import ConsentPolicy

/// The filter itself, below the schema: output is built from allow-listed members only.
@Suite struct FieldFilterTests {
    typealias F = PolicyFixtures

    @Test func R8_undeclaredMemberNeverPassesTheFilterEvenWithoutSchemaValidation() throws {
        let plan = try #require(try F.catalog().plan(named: "job-status-update"))
        guard case .object(var root) = try F.exampleValue("job-status-update", "job-search"),
            case .object(var participant)? = root["participant"]
        else {
            Issue.record("shape")
            return
        }
        participant["diagnosisCode"] = .string("F20.0")
        root["participant"] = .object(participant)
        root["secret"] = .string("x")
        var filter = FieldFilter(
            mode: .identified(scope: [.identityAndContact, .workStatus]), subjectPlan: plan.subjectPlan)
        let filtered = filter.filter(.object(root), plan: plan.root)
        let output = try #require(filtered)
        #expect(JSONPointer.resolve("/secret", in: output) == nil)
        #expect(JSONPointer.resolve("/participant/diagnosisCode", in: output) == nil)
        #expect(JSONPointer.resolve("/participant/fodselsnummer", in: output) != nil)
        #expect(filter.removed.contains { $0.cause == .undeclared && $0.path == "/*" })
        #expect(filter.removed.contains { $0.cause == .undeclared && $0.path == "/participant/*" })
        #expect(!F.allStrings(in: output).contains("F20.0"))
    }

    @Test func unchangedContainersAreReturnedAsTheyCameAndChangedOnesRebuilt() throws {
        let plan = try #require(try F.catalog().plan(named: "job-status-update"))
        let body = try F.exampleValue("job-status-update", "job-started")
        var full = FieldFilter(
            mode: .identified(scope: [.identityAndContact, .workStatus]), subjectPlan: plan.subjectPlan)
        let filtered = full.filter(body, plan: plan.root)
        let output = try #require(filtered)
        // Only the NAV-internal assessment goes; every other member is kept as it was.
        #expect(full.removed.map(\.path) == ["/followUpAssessment"])
        guard case .object(var expected) = body else { return }
        expected["followUpAssessment"] = nil
        #expect(output == .object(expected))
    }
}
