import ConsentPolicy
import Testing

/// The anonymous form's generalizations (R2) and the time arithmetic under them.
@Suite struct GeneralizationTests {
    @Test func ageBandIsTakenAtEventTime() {
        let birth = "1987-04-12"
        #expect(
            Generalization.ageBand10y.apply(to: birth, eventDate: CivilDate(year: 2027, month: 4, day: 11)) == "30-39")
        #expect(
            Generalization.ageBand10y.apply(to: birth, eventDate: CivilDate(year: 2027, month: 4, day: 12)) == "40-49")
        #expect(
            Generalization.ageBand10y.apply(to: "2030-01-01", eventDate: CivilDate(year: 2026, month: 1, day: 1)) == nil
        )
        #expect(
            Generalization.ageBand10y.apply(to: "1987-02-30", eventDate: CivilDate(year: 2026, month: 1, day: 1)) == nil
        )
    }

    @Test func municipalityBecomesCounty() {
        #expect(Generalization.county.apply(to: "0301", eventDate: CivilDate(year: 2026, month: 1, day: 1)) == "03")
        #expect(Generalization.county.apply(to: "4601", eventDate: CivilDate(year: 2026, month: 1, day: 1)) == "46")
        #expect(Generalization.county.apply(to: "301", eventDate: CivilDate(year: 2026, month: 1, day: 1)) == nil)
    }

    @Test func datesBecomeMonths() {
        let any = CivilDate(year: 2026, month: 1, day: 1)
        #expect(Generalization.month.apply(to: "2026-10-07", eventDate: any) == "2026-10")
        #expect(Generalization.month.apply(to: "2026-04-14T13:00:00+02:00", eventDate: any) == "2026-04")
        #expect(Generalization.month.apply(to: "neste uke", eventDate: any) == nil)
    }

    @Test func timestampsParseWithOffsetsAndMapToUTCDates() throws {
        let oslo = try #require(Timestamp(rfc3339: "2026-03-02T00:30:00+01:00"))
        #expect(oslo == Timestamp(rfc3339: "2026-03-01T23:30:00Z"))
        #expect(oslo.utcDate == CivilDate(year: 2026, month: 3, day: 1))
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59.5Z")?.millisecondsSinceEpoch == -500)
        #expect(Timestamp(rfc3339: "2026-02-29T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "2026-03-02T08:14:00.123Z")?.description == "2026-03-02T08:14:00.123Z")
        #expect(
            CivilDate(daysSinceEpoch: CivilDate(year: 2000, month: 2, day: 29).daysSinceEpoch)
                == CivilDate(year: 2000, month: 2, day: 29))
    }

    @Test func caseReferencesAreRandomAndCarryNoIdentity() {
        var seen: Set<CaseReference> = []
        for _ in 0..<100 { seen.insert(CaseReference.random()) }
        #expect(seen.count == 100)
        for reference in seen { #expect(CaseReference(rawValue: reference.rawValue) == reference) }
        #expect(CaseReference(rawValue: "case-12848740088") == nil)
    }
}
