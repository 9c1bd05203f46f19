/// RFC 3339 `full-date` and `date-time` checks with real calendar dates (no Foundation).
package enum RFC3339 {
    /// `YYYY-MM-DD`, year 0001–9999, a day that exists in that month.
    package static func isValidDate(_ text: String) -> Bool {
        withBytes(text) { bytes in bytes.count == 10 && parseDate(bytes, 0) }
    }

    private static func withBytes(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) -> Bool {
        if let result = text.utf8.withContiguousStorageIfAvailable(body) { return result }
        return Array(text.utf8).withUnsafeBufferPointer(body)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `T` and `Z` in either case; seconds 00–59.
    package static func isValidDateTime(_ text: String) -> Bool {
        withBytes(text, isValidDateTime(bytes:))
    }

    private static func isValidDateTime(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count >= 20, parseDate(bytes, 0) else { return false }
        guard bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t") else { return false }
        guard let hour = twoDigits(bytes, 11), hour <= 23, bytes[13] == UInt8(ascii: ":"),
            let minute = twoDigits(bytes, 14), minute <= 59, bytes[16] == UInt8(ascii: ":"),
            let second = twoDigits(bytes, 17), second <= 59
        else { return false }
        var index = 19
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            guard index > start else { return false }
        }
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            return index + 1 == bytes.count
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == index + 6, let offsetHour = twoDigits(bytes, index + 1), offsetHour <= 23,
                bytes[index + 3] == UInt8(ascii: ":"), let offsetMinute = twoDigits(bytes, index + 4),
                offsetMinute <= 59
            else { return false }
            return true
        default:
            return false
        }
    }

    /// Days in `month` of `year` (proleptic Gregorian).
    package static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func parseDate(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        guard let high = twoDigits(bytes, start), let low = twoDigits(bytes, start + 2),
            bytes[start + 4] == UInt8(ascii: "-"), let month = twoDigits(bytes, start + 5),
            bytes[start + 7] == UInt8(ascii: "-"), let day = twoDigits(bytes, start + 8)
        else { return false }
        let year = high * 100 + low
        guard year >= 1, (1...12).contains(month), day >= 1 else { return false }
        return day <= daysIn(month: month, year: year)
    }

    private static func twoDigits(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int? {
        guard index + 1 < bytes.count, isDigit(bytes[index]), isDigit(bytes[index + 1]) else { return nil }
        return Int(bytes[index] - UInt8(ascii: "0")) * 10 + Int(bytes[index + 1] - UInt8(ascii: "0"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
}
