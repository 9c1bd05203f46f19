import ConsentPolicy
import Testing

/// The consent view keeps, and the bridge store persists, each entry in a compact binary form:
/// it must give back exactly the entry, and refuse anything that is not one (fail closed).
@Suite("Consent view entries: the persisted form")
struct ConsentViewPersistedFormTests {
    static func record(status: ConsentRecord.Status = .granted, validUntil: Timestamp? = nil, givenBy: String? = nil)
        -> ConsentRecord
    {
        ConsentRecord(
            patientID: "12848740088", consentID: "6a1f0c3e-2b4d-4e5f-8a9b-0c1d2e3f4a5b", version: 7, status: status,
            categories: [.identityAndContact, .workStatus], recipientRoles: [.ipsJobSpecialist],
            directions: [.healthToNav],
            recordedBy: .init(hprNumber: "4512378", role: "primærkontakt"),
            recordedAt: Timestamp(millisecondsSinceEpoch: 1_780_000_000_123),
            validFrom: Timestamp(millisecondsSinceEpoch: 1_780_000_000_000), validUntil: validUntil, form: .written,
            givenBy: givenBy)
    }

    @Test("R5: every state round-trips exactly, with and without the optional fields")
    func R5_roundTrip() {
        let entries: [ConsentView.Entry] = [
            .init(state: .absent, highestVersion: nil),
            .init(state: .tombstoned, highestVersion: 4),
            .init(state: .unreadable, highestVersion: nil),
            .init(state: .granted(Self.record()), highestVersion: 7),
            .init(
                state: .granted(Self.record(validUntil: Timestamp(millisecondsSinceEpoch: -5), givenBy: "guardian")),
                highestVersion: 9),
            .init(state: .withdrawn(Self.record(status: .withdrawn)), highestVersion: Int64.max),
        ]
        for entry in entries {
            let bytes = entry.persistedBytes(patientID: "12848740088")
            #expect(
                ConsentView.Entry(persistedBytes: bytes, patientID: "12848740088") == entry, "\(entry.state.caseName)")
            // Under another key (a record kept for the person it names), the patient id is kept.
            let elsewhere = entry.persistedBytes(patientID: "03919540000")
            #expect(ConsentView.Entry(persistedBytes: elsewhere, patientID: "03919540000") == entry)
        }
    }

    @Test("R5: truncated, extended or foreign bytes are not an entry (the view reads them as no consent)")
    func R5_malformedIsRefused() throws {
        let bytes = ConsentView.Entry(state: .granted(Self.record(givenBy: "parent")), highestVersion: 7)
            .persistedBytes(patientID: "12848740088")
        for length in 0..<bytes.count {
            #expect(
                ConsentView.Entry(persistedBytes: Array(bytes.prefix(length)), patientID: "12848740088") == nil,
                "truncated at \(length)")
        }
        #expect(ConsentView.Entry(persistedBytes: bytes + [0], patientID: "12848740088") == nil)
        var foreign = bytes
        foreign[0] = 0x7B  // "{": a JSON document is not this form
        #expect(ConsentView.Entry(persistedBytes: foreign, patientID: "12848740088") == nil)
        var badTag = bytes
        badTag[2] = 9
        #expect(ConsentView.Entry(persistedBytes: badTag, patientID: "12848740088") == nil)
        // A string that is not UTF-8: the recorder's role "primærkontakt" with its "æ" broken.
        let role = Array("primærkontakt".utf8)
        let at = try #require(bytes.indices.first { Array(bytes[$0...].prefix(role.count)) == role })
        var notUTF8 = bytes
        notUTF8[at + 5] = 0x28  // 0xC3 followed by "(": not a UTF-8 sequence
        #expect(ConsentView.Entry(persistedBytes: notUTF8, patientID: "12848740088") == nil)
        var stillUTF8 = bytes
        stillUTF8[at] = UInt8(ascii: "P")
        #expect(ConsentView.Entry(persistedBytes: stillUTF8, patientID: "12848740088") != nil)
    }

    @Test("R5: a consent id that is not a lowercase UUID is kept as it was written")
    func R5_consentIDsAreKeptExactly() {
        for consentID in ["6A1F0C3E-2B4D-4E5F-8A9B-0C1D2E3F4A5B", "consent-17", "6a1f0c3e2b4d4e5f8a9b0c1d2e3f4a5b"] {
            var record = Self.record()
            record.consentID = consentID
            let entry = ConsentView.Entry(state: .granted(record), highestVersion: 7)
            #expect(
                ConsentView.Entry(
                    persistedBytes: entry.persistedBytes(patientID: "12848740088"), patientID: "12848740088") == entry)
        }
    }

    @Test("R5: the view answers from its compact entries as it did from structs, also after replacing them")
    func R5_viewBehaviourIsUnchanged() {
        var view = ConsentView()
        #expect(view.apply(Self.record()) == .applied)
        #expect(view.state(for: "12848740088") == .granted(Self.record()))
        var older = Self.record()
        older.version = 6
        #expect(view.apply(older) == .ignoredStale)
        view.applyTombstone(patientID: "12848740088")
        #expect(view.entry(for: "12848740088") == ConsentView.Entry(state: .tombstoned, highestVersion: 7))
        #expect(view.apply(older) == .ignoredStale, "a tombstone keeps the highest version")
        #expect(view.state(for: "03919540000") == .absent)
        #expect(view.count == 1)
        // Many replacements of entries of other sizes (the arena reclaims what they leave).
        for round in 0..<30_000 {
            var record = Self.record(givenBy: round.isMultiple(of: 2) ? "parent" : nil)
            record.version = Int64(8 + round)
            #expect(view.apply(record) == .applied)
        }
        #expect(view.state(for: "12848740088").grantedRecord?.version == 30_007)
        #expect(view.count == 1)
    }
}
