import ConsentContracts
import ConsentPolicy
import Foundation
import Testing

/// The consent view: versions, tombstones, unreadable records, snapshots.
@Suite struct ConsentViewTests {
    typealias F = PolicyFixtures

    @Test func exampleRecordsParseWithTheirScope() throws {
        let schema = try #require(try F.catalog().consentSchema)
        let full = try ConsentRecord.parse(try F.example("consent", "granted-full-written"), schema: schema)
        #expect(full.status == .granted)
        #expect(
            full.categories == [
                .identityAndContact, .ipsParticipation, .workRelevantHealth, .treatmentCoordination, .workStatus,
            ])
        #expect(full.recipientRoles == [.ipsJobSpecialist, .navVeileder])
        #expect(full.form == .written)
        #expect(full.validFrom == Timestamp(rfc3339: "2026-03-02T08:14:00Z"))
        let narrow = try ConsentRecord.parse(try F.example("consent", "granted-narrow-oral"), schema: schema)
        #expect(narrow.categories == [.identityAndContact, .ipsParticipation, .workStatus])
        #expect(narrow.validUntil == nil)
        #expect(narrow.form == .oral)
    }

    @Test func R5_lowerVersionNeverOverwritesHigher() throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = ConsentView()
        // Version 2:
        #expect(view.apply(key: F.kari, value: try F.example("consent", "withdrawn"), schema: schema) == .applied)
        #expect(
            view.apply(key: F.kari, value: try F.example("consent", "granted-full-written"), schema: schema)
                == .ignoredStale)  // v1
        guard case .withdrawn(let record) = view.state(for: F.kari) else {
            Issue.record("expected withdrawn")
            return
        }
        #expect(record.version == 2)
    }

    @Test func sameVersionOnlyWinsAsAWithdrawal() {
        var view = F.view(F.consent(F.kari, version: 5))
        #expect(view.apply(F.consent(F.kari, version: 5, categories: [.workStatus])) == .ignoredStale)
        #expect(view.apply(F.consent(F.kari, version: 5, status: .withdrawn, categories: [])) == .applied)
        #expect(view.state(for: F.kari).grantedRecord == nil)
    }

    @Test func tombstoneMeansNoConsentAndKeepsTheVersionWatermark() throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = F.view(F.consent(F.kari, version: 3))
        view.apply(key: F.kari, value: nil, schema: schema)
        #expect(view.state(for: F.kari) == .tombstonedAfterRecord)
        #expect(view.apply(F.consent(F.kari, version: 2)) == .ignoredStale)
        #expect(view.apply(F.consent(F.kari, version: 4)) == .applied)
        #expect(view.state(for: F.kari).grantedRecord?.version == 4)
    }

    @Test(arguments: [
        #"not json"#, #"{"patientId":"12848740088"}"#, #"{"patientId":"12848740088","patientId":"12848740088"}"#,
    ])
    func anythingUnparseableMeansNoConsentForThatKey(body: String) throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = F.view(F.consent(F.kari))
        guard case .unreadable = view.apply(key: F.kari, value: Array(body.utf8), schema: schema) else {
            Issue.record("expected unreadable")
            return
        }
        #expect(view.state(for: F.kari) == .unreadable)
    }

    @Test func invalidExampleConsentsAreUnreadable() throws {
        let schema = try #require(try F.catalog().consentSchema)
        for name in try F.exampleNames("consent", kind: "invalid") {
            var view = F.view(F.consent(F.kari), F.consent(F.ola))
            let body = try F.example("consent", name, kind: "invalid")
            let value = try StrictJSON.parse(body)
            let key = try #require(JSONPointer.resolve("/patientId", in: value)?.stringValue)
            view.apply(key: key, value: body, schema: schema)
            #expect(view.state(for: key) == .unreadable, "\(name)")
        }
    }

    @Test func recordUnderAnotherPatientsKeyIsUnreadable() throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = ConsentView()
        let outcome = view.apply(key: F.ola, value: try F.example("consent", "granted-full-written"), schema: schema)
        #expect(outcome == .unreadable(ConsentRecordError(code: .keyMismatch, detail: "patientId")))
        #expect(view.state(for: F.ola) == .unreadable)
        // R5: the person the body names loses their consent too (which one is meant cannot be told).
        #expect(view.state(for: F.kari) == .unreadable)
        // Only a correctly keyed record newer than the misaddressed one's version brings it back
        // (as docs/operations.md says): the same version does not.
        #expect(view.apply(F.consent(F.kari, version: 1)) == .ignoredStale)
        #expect(view.state(for: F.kari) == .unreadable)
        #expect(view.apply(F.consent(F.kari, version: 2)) == .applied)
        #expect(view.state(for: F.kari).grantedRecord != nil)
    }

    @Test("R5: a record that breaks the contract under another person's key makes both persons unreadable")
    func R5_invalidRecordUnderAnotherKeyFailsClosedForBoth() throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = F.view(F.consent(F.kari), F.consent(F.ola))
        // Kari's withdrawal, published under Ola's key and missing a required field.
        var body = try #require(try StrictJSON.parse(try F.example("consent", "withdrawn")).objectValue)
        body["patientId"] = .string(F.kari)
        body["recordedBy"] = nil
        let outcome = view.apply(key: F.ola, value: JSONValue.object(body).serializedBytes(), schema: schema)
        guard case .unreadable = outcome else {
            Issue.record("a record missing recordedBy was read: \(outcome)")
            return
        }
        #expect(view.state(for: F.ola) == .unreadable, "the key's person")
        #expect(view.state(for: F.kari) == .unreadable, "the person it names: it may be her withdrawal")
    }

    @Test("R5: a record without a key makes the person its body names unreadable, even when it is otherwise invalid")
    func R5_keylessRecordFailsClosedForThePersonItNames() throws {
        var view = F.view(F.consent(F.kari))
        #expect(view.applyKeyless(value: try F.example("consent", "withdrawn")) != nil)
        let named = try #require(
            try StrictJSON.parse(try F.example("consent", "withdrawn")).objectValue?["patientId"]?.stringValue)
        #expect(view.state(for: named) == .unreadable)
        #expect(view.applyKeyless(value: Array(#"{"patientId":"12848740088"}"#.utf8)) == F.kari)
        #expect(view.state(for: F.kari) == .unreadable)
        #expect(view.applyKeyless(value: Array("not json".utf8)) == nil)
        #expect(view.applyKeyless(value: nil) == nil)
    }

    @Test func viewReadsConsentMessagesThroughTheCatalog() throws {
        var view = ConsentView()
        #expect(
            view.apply(key: F.ola, value: try F.example("consent", "granted-narrow-oral"), catalog: try F.catalog())
                == .applied)
        #expect(view.state(for: F.ola).grantedRecord?.version == 3)
        #expect(view.apply(key: F.ola, value: nil, catalog: try F.catalog()) == .applied)
        #expect(view.state(for: F.ola) == .tombstonedAfterRecord)
    }

    @Test func viewSnapshotRoundTripsThroughJSON() throws {
        let schema = try #require(try F.catalog().consentSchema)
        var view = F.view(
            F.consent(F.kari, version: 2, validUntil: "2027-01-01T00:00:00Z"), F.consent(F.ola, status: .withdrawn))
        view.apply(key: F.young, value: nil, schema: schema)
        view.apply(key: F.caseDiscussion, value: Array("x".utf8), schema: schema)
        let data = try JSONEncoder().encode(view)
        let restored = try JSONDecoder().decode(ConsentView.self, from: data)
        #expect(restored == view)
    }

    @Test func recordSerializesToAValidConsentBody() throws {
        let schema = try #require(try F.catalog().consentSchema)
        let record = F.consent(F.kari, version: 7, validUntil: "2027-03-02T00:00:00Z")
        let bytes = record.jsonValue.serializedBytes()
        #expect(try ConsentRecord.parse(bytes, schema: schema) == record)
    }
}
