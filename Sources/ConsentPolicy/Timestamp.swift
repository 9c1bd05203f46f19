#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A UTC instant with millisecond precision, independent of Foundation.
///
/// The policy compares consent validity against it and derives calendar dates from it
/// (age bands at event time); it is `Codable` so a persisted consent view round-trips.
package struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    package var millisecondsSinceEpoch: Int64

    /// An instant from milliseconds since the Unix epoch.
    package init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    /// The current wall-clock time (callers pass it into the pure policy functions).
    package static func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(millisecondsSinceEpoch: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSinceEpoch < rhs.millisecondsSinceEpoch
    }

    /// The UTC calendar date of this instant.
    package var utcDate: CivilDate {
        let days =
            millisecondsSinceEpoch >= 0
            ? millisecondsSinceEpoch / 86_400_000
            : (millisecondsSinceEpoch - 86_399_999) / 86_400_000
        return CivilDate(daysSinceEpoch: days)
    }

    /// The calendar date of this instant in Norway (Europe/Oslo), the date the rules' days are
    /// counted in: an IPS agreement's last day (R14), "not in the future" (R12), a birthday.
    /// Norway keeps Central European Time, UTC+1, and summer time, UTC+2, from 01:00 UTC on the
    /// last Sunday of March to 01:00 UTC on the last Sunday of October (the EU rule, in force
    /// since 1996); computed here so the pure policy needs no time-zone database.
    package var norwegianDate: CivilDate {
        let year = utcDate.year
        let summerStarts = Self.lastSunday(month: 3, year: year).daysSinceEpoch * 86_400_000 + 3_600_000
        let summerEnds = Self.lastSunday(month: 10, year: year).daysSinceEpoch * 86_400_000 + 3_600_000
        let isSummer = summerStarts <= millisecondsSinceEpoch && millisecondsSinceEpoch < summerEnds
        let offset: Int64 = isSummer ? 7_200_000 : 3_600_000
        return Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + offset).utcDate
    }

    /// The last Sunday of `month` in `year`.
    static func lastSunday(month: Int, year: Int) -> CivilDate {
        let last = CivilDate(year: year, month: month, day: CivilDate.daysIn(month: month, year: year)).daysSinceEpoch
        // 1970-01-01 was a Thursday: (days + 4) mod 7 is the weekday, Sunday 0.
        let weekday = ((last + 4) % 7 + 7) % 7
        return CivilDate(daysSinceEpoch: last - weekday)
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-03-02T08:14:00.000Z`.
    package var description: String {
        let date = utcDate
        let msOfDay = millisecondsSinceEpoch - date.daysSinceEpoch * 86_400_000
        let hours = msOfDay / 3_600_000
        let minutes = msOfDay / 60_000 % 60
        let seconds = msOfDay / 1000 % 60
        let millis = msOfDay % 1000
        return "\(date)T\(pad(hours, 2)):\(pad(minutes, 2)):\(pad(seconds, 2)).\(pad(millis, 3))Z"
    }

    /// Parses an RFC 3339 `date-time` (`T`/`Z` in either case, optional fraction, `Z` or
    /// `±HH:MM`), or nil when the text is not one.
    package init?(rfc3339 text: String) {
        var text = text
        guard let parsed = text.withUTF8({ Timestamp.parse($0) }) else { return nil }
        self = parsed
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard bytes.count >= 20, let date = CivilDate.parse(bytes, from: 0),
            bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
            let hour = digits(bytes, 11, 2), hour <= 23, bytes[13] == UInt8(ascii: ":"),
            let minute = digits(bytes, 14, 2), minute <= 59, bytes[16] == UInt8(ascii: ":"),
            let second = digits(bytes, 17, 2), second <= 59
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale: Int64 = 100
            let start = index
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 {
                millis += Int64(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < bytes.count else { return nil }
        var offsetMinutes: Int64 = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == index + 6, let offsetHour = digits(bytes, index + 1, 2), offsetHour <= 23,
                bytes[index + 3] == UInt8(ascii: ":"), let offsetMinute = digits(bytes, index + 4, 2),
                offsetMinute <= 59
            else { return nil }
            offsetMinutes = Int64(offsetHour * 60 + offsetMinute)
            if bytes[index] == UInt8(ascii: "-") { offsetMinutes = -offsetMinutes }
        default:
            return nil
        }
        let seconds = date.daysSinceEpoch * 86_400 + Int64(hour * 3600 + minute * 60 + second) - offsetMinutes * 60
        return Timestamp(millisecondsSinceEpoch: seconds * 1000 + millis)
    }

    static func digits(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        guard start + count <= bytes.count else { return nil }
        var value = 0
        for index in start..<(start + count) {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}

private func pad(_ value: Int64, _ width: Int) -> String {
    let text = String(value)
    return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
}
