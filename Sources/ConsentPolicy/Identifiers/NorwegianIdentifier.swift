/// Norwegian national identity numbers: fødselsnummer and D-number.
///
/// Layout `DDMMYY III KK`: birth date, individual number, two mod-11 check digits. A D-number
/// adds 4 to the first day digit. Synthetic test numbers add 40 (NAV/Dolly) or 80
/// (Skatteetaten/Tenor) to the month; they are accepted only when `allowSynthetic` is set,
/// so a production bridge treats them as invalid while test environments recognise them.
package enum NorwegianIdentifier {
    /// What kind of number a valid candidate is.
    package enum Kind: String, Sendable, Hashable {
        case fodselsnummer
        case dNumber
    }

    /// The decoded parts of a valid number (for tests and the anonymizer; never logged).
    package struct Parsed: Sendable, Hashable {
        package var kind: Kind
        package var isSynthetic: Bool
        package var birthDay: Int
        package var birthMonth: Int
        /// Four-digit year when the individual number determines the century; nil otherwise.
        package var birthYear: Int?
    }

    static let firstWeights = [3, 7, 6, 1, 8, 9, 4, 5, 2]
    static let secondWeights = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2]

    /// True for a fødselsnummer or D-number with both check digits valid and a real date;
    /// synthetic (month+40 / month+80) numbers only when `allowSynthetic`.
    package static func isValid(_ candidate: String, allowSynthetic: Bool) -> Bool {
        parse(candidate, allowSynthetic: allowSynthetic) != nil
    }

    /// The decoded number, or nil when it is not valid under the same rules as `isValid`.
    package static func parse(_ candidate: String, allowSynthetic: Bool) -> Parsed? {
        let utf8 = candidate.utf8
        guard utf8.count == 11 else { return nil }
        var digits = [Int]()
        digits.reserveCapacity(11)
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            digits.append(Int(byte - UInt8(ascii: "0")))
        }
        return parse(digits: digits, allowSynthetic: allowSynthetic)
    }

    /// `parse` over eleven decimal digits (0…9 each).
    static func parse(digits: [Int], allowSynthetic: Bool) -> Parsed? {
        guard digits.count == 11 else { return nil }
        guard let first = checkDigit(digits[0..<9], weights: firstWeights), first == digits[9],
            let second = checkDigit(digits[0..<10], weights: secondWeights), second == digits[10]
        else { return nil }

        var day = digits[0] * 10 + digits[1]
        var month = digits[2] * 10 + digits[3]
        let shortYear = digits[4] * 10 + digits[5]
        let individual = digits[6] * 100 + digits[7] * 10 + digits[8]

        var kind = Kind.fodselsnummer
        if day > 40 {
            kind = .dNumber
            day -= 40
        }
        var isSynthetic = false
        if month > 80 {
            isSynthetic = true
            month -= 80
        } else if month > 40 {
            isSynthetic = true
            month -= 40
        }
        if isSynthetic, !allowSynthetic { return nil }
        guard (1...12).contains(month), day >= 1 else { return nil }

        let year = century(individual: individual, shortYear: shortYear).map { $0 + shortYear }
        // Unknown century (an unassigned individual-number range): allow 29 February rather
        // than guess; the check digits already carry the weight of the validation.
        let maximumDay = daysIn(month: month, year: year ?? 2000)
        guard day <= maximumDay else { return nil }
        return Parsed(kind: kind, isSynthetic: isSynthetic, birthDay: day, birthMonth: month, birthYear: year)
    }

    /// Mod-11 check digit for `digits` with `weights`; nil when the remainder gives 10 (unused).
    static func checkDigit(_ digits: ArraySlice<Int>, weights: [Int]) -> Int? {
        var sum = 0
        for (digit, weight) in zip(digits, weights) { sum += digit * weight }
        let check = 11 - sum % 11
        if check == 11 { return 0 }
        if check == 10 { return nil }
        return check
    }

    /// The century from Skatteetaten's individual-number ranges, or nil when unassigned.
    static func century(individual: Int, shortYear: Int) -> Int? {
        switch individual {
        case 0...499: return 1900
        case 500...749 where shortYear >= 54: return 1800
        case 500...999 where shortYear <= 39: return 2000
        case 900...999 where shortYear >= 40: return 1900
        default: return nil
        }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
