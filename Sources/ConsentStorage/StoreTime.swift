import Foundation

/// Timestamps as stored: ISO 8601 UTC text with milliseconds, the same on both engines.
///
/// Fixed-width text sorts in time order, reads well in an operator's SQL client, and needs no
/// engine-specific timestamp type.
package enum StoreTime {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC") ?? .gmt)

    /// `2026-11-23T16:12:19.123Z`
    package static func string(from date: Date) -> String {
        date.formatted(Self.style)
    }

    /// Parses text written by `string(from:)` (or ISO 8601 without fractional seconds).
    package static func date(from text: String) -> Date? {
        if let date = try? Self.style.parse(text) { return date }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text)
    }
}
