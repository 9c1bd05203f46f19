extension NorwegianIdentifier {
    /// `count` (at most ~500) valid synthetic fødselsnumre (Skatteetaten's month + 80), born
    /// 12 April 1987, with distinct individual numbers: test persons, never real ones. For
    /// benchmarks, simulators and the demo (a run must allow synthetic identifiers).
    package static func syntheticFodselsnumre(count: Int) -> [String] {
        var numbers: [String] = []
        let date = [1, 2, 8, 4, 8, 7]
        for individual in 400..<1000 where numbers.count < count {
            let digits = date + [individual / 100, individual / 10 % 10, individual % 10]
            guard let first = mod11(digits, weights: [3, 7, 6, 1, 8, 9, 4, 5, 2]),
                let second = mod11(digits + [first], weights: [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
            else { continue }
            let number = (digits + [first, second]).map(String.init).joined()
            if NorwegianIdentifier.isValid(number, allowSynthetic: true) { numbers.append(number) }
        }
        return numbers
    }

    private static func mod11(_ digits: [Int], weights: [Int]) -> Int? {
        let remainder = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 } % 11
        switch remainder {
        case 0: return 0
        case 1: return nil
        default: return 11 - remainder
        }
    }
}
