package import Foundation

/// Timestamps as stored: ISO 8601 UTC text with milliseconds, the same on both engines.
///
/// Fixed-width text sorts in time order, reads well in an operator's SQL client, and needs no
/// engine-specific timestamp type.
package enum StoreTime {
    private static let style = Date.ISO8601FormatStyle(
        includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt)

    /// `2026-11-23T16:12:19.123Z` (milliseconds truncated, as `ISO8601FormatStyle` does).
    ///
    /// Formatted by hand: it runs for several columns of every row of the bridge's hot path,
    /// where `Date.formatted` cost more than the rest of the row's encoding.
    package static func string(from date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let seconds = interval.rounded(.down)
        guard seconds.magnitude < 1e15 else { return date.formatted(Self.style) }
        let milliseconds = min(999, Int((interval - seconds) * 1000))
        let whole = Int(seconds)
        let days = whole >= 0 ? whole / 86_400 : (whole - 86_399) / 86_400
        let secondOfDay = whole - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        guard (0...9999).contains(year) else { return date.formatted(Self.style) }
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            func put(_ value: Int, digits: Int) {
                var divisor = 1
                for _ in 1..<digits { divisor *= 10 }
                var rest = value
                while divisor > 0 {
                    buffer[index] = UInt8(ascii: "0") + UInt8(rest / divisor)
                    rest %= divisor
                    divisor /= 10
                    index += 1
                }
            }
            func put(_ character: Unicode.Scalar) {
                buffer[index] = UInt8(ascii: character)
                index += 1
            }
            put(year, digits: 4)
            put("-")
            put(month, digits: 2)
            put("-")
            put(day, digits: 2)
            put("T")
            put(secondOfDay / 3600, digits: 2)
            put(":")
            put(secondOfDay / 60 % 60, digits: 2)
            put(":")
            put(secondOfDay % 60, digits: 2)
            put(".")
            put(milliseconds, digits: 3)
            put("Z")
            return index
        }
    }

    /// A nullable time column's value: `nil` stays `nil`, unreadable text is a corrupt row.
    static func date(orNil text: String?, column: String) throws(StorageError) -> Date? {
        guard let text else { return nil }
        guard let date = date(from: text) else { throw StorageError(.corruptRow, "\(column) is not a readable time") }
        return date
    }

    /// Parses text written by `string(from:)` (or ISO 8601 without fractional seconds).
    package static func date(from text: String) -> Date? {
        if let date = try? Self.style.parse(text) { return date }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text)
    }
}
