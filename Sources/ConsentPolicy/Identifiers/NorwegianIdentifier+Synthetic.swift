extension NorwegianIdentifier {
    /// `count` (at most ~500) valid synthetic fødselsnumre (Skatteetaten's month + 80), born
    /// 12 April 1987, with distinct individual numbers: test persons, never real ones. For
    /// benchmarks, simulators and the demo (a run must allow synthetic identifiers).
    package static func syntheticFodselsnumre(count: Int) -> [String] {
        var numbers: [String] = []
        let date = [1, 2, 8, 4, 8, 7]
        for individual in 400..<1000 where numbers.count < count {
            let digits = date + [individual / 100, individual / 10 % 10, individual % 10]
            guard let number = withCheckDigits(digits) else { continue }
            if NorwegianIdentifier.isValid(number, allowSynthetic: true) { numbers.append(number) }
        }
        return numbers
    }

    /// The eleven-digit number that nine digits (birth date and individual number) make with
    /// their two mod-11 check digits; nil when a check digit would be 10 (no such number).
    package static func withCheckDigits(_ digits: [Int]) -> String? {
        guard digits.count == 9, let first = checkDigit(digits[...], weights: firstWeights),
            let second = checkDigit((digits + [first])[...], weights: secondWeights)
        else { return nil }
        return (digits + [first, second]).map(String.init).joined()
    }
}
