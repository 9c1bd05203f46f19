/// A proleptic Gregorian calendar date (year, month, day) without time or zone.
package struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Four-digit year.
    package var year: Int
    /// 1…12.
    package var month: Int
    /// 1…31, valid for the month.
    package var day: Int

    /// A date the caller knows to be valid.
    package init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil-from-days algorithm).
    package init(daysSinceEpoch days: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    /// Days from 1970-01-01 to this date (negative before).
    package var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// Parses `YYYY-MM-DD` (a day that exists), or nil.
    package init?(iso text: String) {
        var text = text
        guard text.utf8.count == 10, let parsed = text.withUTF8({ CivilDate.parse($0, from: 0) }) else { return nil }
        self = parsed
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> CivilDate? {
        guard bytes.count >= start + 10, let year = Timestamp.digits(bytes, start, 4), year >= 1,
            bytes[start + 4] == UInt8(ascii: "-"), let month = Timestamp.digits(bytes, start + 5, 2),
            (1...12).contains(month), bytes[start + 7] == UInt8(ascii: "-"),
            let day = Timestamp.digits(bytes, start + 8, 2), day >= 1,
            day <= CivilDate.daysIn(month: month, year: year)
        else { return nil }
        return CivilDate(year: year, month: month, day: day)
    }

    /// Days in `month` of `year`.
    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Whole years from `self` (a birth date) to `date`.
    package func age(at date: CivilDate) -> Int {
        var years = date.year - year
        if (date.month, date.day) < (month, day) { years -= 1 }
        return years
    }

    package static func < (lhs: CivilDate, rhs: CivilDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// `YYYY-MM-DD`.
    package var description: String {
        let y = String(year)
        let m = String(month)
        let d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count < 2 ? "0" : "") + m + "-"
            + (d.count < 2 ? "0" : "") + d
    }
}
