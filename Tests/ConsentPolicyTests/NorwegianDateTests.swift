import ConsentPolicy
import Foundation
import Testing

/// The rules count days as Norway does: an IPS agreement's last day (R14) and "not in the
/// future" (R12) end at midnight in Oslo, not at midnight UTC, one or two hours later.
@Suite("Dates in Norway")
struct NorwegianDateTests {
    static func at(_ text: String) -> Timestamp { Timestamp(rfc3339: text)! }

    @Test("an instant's date in Norway: UTC+1 in winter, UTC+2 from the last Sunday of March to the last of October")
    func datesAcrossMidnightAndTheClockChanges() {
        #expect(Self.at("2026-12-06T22:59:59Z").norwegianDate == CivilDate(iso: "2026-12-06"))
        #expect(Self.at("2026-12-06T23:00:00Z").norwegianDate == CivilDate(iso: "2026-12-07"), "midnight in winter")
        #expect(Self.at("2026-06-30T21:59:59Z").norwegianDate == CivilDate(iso: "2026-06-30"))
        #expect(Self.at("2026-06-30T22:00:00Z").norwegianDate == CivilDate(iso: "2026-07-01"), "midnight in summer")
        #expect(Self.at("2026-12-31T23:30:00Z").norwegianDate == CivilDate(iso: "2027-01-01"), "a new year")
        // 2026's summer time: 29 March 01:00 UTC to 25 October 01:00 UTC.
        #expect(Self.at("2026-03-28T22:30:00Z").norwegianDate == CivilDate(iso: "2026-03-28"), "the night before: +1")
        #expect(Self.at("2026-03-29T22:30:00Z").norwegianDate == CivilDate(iso: "2026-03-30"), "the first night: +2")
        #expect(Self.at("2026-10-24T22:30:00Z").norwegianDate == CivilDate(iso: "2026-10-25"), "the last night: +2")
        #expect(Self.at("2026-10-25T22:30:00Z").norwegianDate == CivilDate(iso: "2026-10-25"), "winter again: +1")
    }

    @Test("agrees with the time-zone database's Europe/Oslo at every half hour around each clock change, 1996–2060")
    func agreesWithTheTimeZoneDatabase() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "Europe/Oslo"))
        func databaseDate(_ instant: Timestamp) -> CivilDate {
            let date = Date(timeIntervalSince1970: Double(instant.millisecondsSinceEpoch) / 1000)
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            return CivilDate(year: parts.year!, month: parts.month!, day: parts.day!)
        }
        var compared = 0
        var disagreements: [String] = []
        for year in 1996...2060 {
            // Every half hour from the 20th to the end of March and of October: both changes
            // and the midnights either side of them.
            for month in [3, 10] {
                let first = CivilDate(year: year, month: month, day: 20).daysSinceEpoch * 86_400_000
                for step in 0..<(13 * 48) {
                    let instant = Timestamp(millisecondsSinceEpoch: first + Int64(step) * 1_800_000)
                    compared += 1
                    if instant.norwegianDate != databaseDate(instant) { disagreements.append(instant.description) }
                }
            }
            // And the last minute of each day of the year's summer and winter halves.
            for day in stride(from: 0, to: 365, by: 7) {
                let midnight = (CivilDate(year: year, month: 1, day: 1).daysSinceEpoch + Int64(day)) * 86_400_000
                for minutes in [-121, -120, -61, -60, 0] {
                    let instant = Timestamp(millisecondsSinceEpoch: midnight + Int64(minutes) * 60_000)
                    compared += 1
                    if instant.norwegianDate != databaseDate(instant) { disagreements.append(instant.description) }
                }
            }
        }
        #expect(compared > 90_000)
        #expect(disagreements.count == 0, "first: \(disagreements.prefix(5))")
    }
}
