/// Finds fødselsnumre/D-numbers, Norwegian phone numbers and e-mail addresses in free text.
///
/// Used to keep direct identifiers from slipping through free-text fields and to prove that
/// logs and operator views hold none. It errs on the side of finding: any 8-digit group that
/// looks like a Norwegian subscriber number counts as a phone number.
package enum PersonalDataScanner {
    /// Every finding in `text`, ordered by position, non-overlapping.
    package static func findings(in text: String, allowSynthetic: Bool) -> [PersonalDataFinding] {
        let bytes = Array(text.utf8)
        var spans: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        for span in digitSpans(bytes, allowSynthetic: allowSynthetic) { spans.append(span) }
        for span in emailSpans(bytes) where !spans.contains(where: { $0.start < span.end && span.start < $0.end }) {
            spans.append(span)
        }
        spans.sort { $0.start < $1.start }
        let utf8 = text.utf8
        return spans.map { span in
            let start = utf8.index(utf8.startIndex, offsetBy: span.start)
            let end = utf8.index(start, offsetBy: span.end - span.start)
            return PersonalDataFinding(kind: span.kind, range: start..<end)
        }
    }

    /// True when `text` contains no identifier, phone number or e-mail address.
    package static func isFree(of text: String, allowSynthetic: Bool = true) -> Bool {
        findings(in: text, allowSynthetic: allowSynthetic).isEmpty
    }

    // MARK: Digits

    private struct Run {
        var start: Int
        var end: Int
        var count: Int { end - start }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte >= 0x80 || byte == UInt8(ascii: "_")
    }

    /// Chains of digit runs separated by single spaces, bounded by non-word characters.
    private static func digitSpans(
        _ bytes: [UInt8], allowSynthetic: Bool
    ) -> [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] {
        var result: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        var index = 0
        while index < bytes.count {
            guard isDigit(bytes[index]) else {
                index += 1
                continue
            }
            // A digit glued to letters ("ABC123") is a code, not a number on its own.
            let isBoundedLeft = index == 0 || !isWordByte(bytes[index - 1])
            var runs: [Run] = []
            var cursor = index
            while cursor < bytes.count, isDigit(bytes[cursor]) {
                let start = cursor
                while cursor < bytes.count, isDigit(bytes[cursor]) { cursor += 1 }
                runs.append(Run(start: start, end: cursor))
                if cursor + 1 < bytes.count, bytes[cursor] == UInt8(ascii: " "), isDigit(bytes[cursor + 1]) {
                    cursor += 1
                } else {
                    break
                }
            }
            let isBoundedRight = cursor == bytes.count || !isWordByte(bytes[cursor])
            if isBoundedLeft, isBoundedRight {
                let hasPlus = index > 0 && bytes[index - 1] == UInt8(ascii: "+")
                result += matchChain(runs, bytes, hasPlus: hasPlus, allowSynthetic: allowSynthetic)
            }
            index = cursor
        }
        return result
    }

    private static func digits(_ bytes: [UInt8], _ runs: ArraySlice<Run>) -> [Int] {
        var result: [Int] = []
        for run in runs { for position in run.start..<run.end { result.append(Int(bytes[position] - 48)) } }
        return result
    }

    private static func matchChain(
        _ runs: [Run], _ bytes: [UInt8], hasPlus: Bool, allowSynthetic: Bool
    ) -> [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] {
        var result: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        var position = 0
        while position < runs.count {
            let run = runs[position]
            // Identity number: 11 digits, or 6 + 5 ("DDMMYY IIIKK").
            if run.count == 11,
                NorwegianIdentifier.parse(
                    digits: digits(bytes, runs[position...position]), allowSynthetic: allowSynthetic) != nil
            {
                result.append((.nationalIdentityNumber, run.start, run.end))
                position += 1
                continue
            }
            if run.count == 6, position + 1 < runs.count, runs[position + 1].count == 5,
                NorwegianIdentifier.parse(
                    digits: digits(bytes, runs[position...(position + 1)]), allowSynthetic: allowSynthetic) != nil
            {
                result.append((.nationalIdentityNumber, run.start, runs[position + 1].end))
                position += 2
                continue
            }
            // Phone with country code in one run: +4791234567 / 004791234567.
            let plusHere = position == 0 && hasPlus
            let leading = digits(bytes, runs[position...position])
            if (run.count == 10 && plusHere && leading.starts(with: [4, 7]))
                || (run.count == 12 && leading.starts(with: [0, 0, 4, 7]))
            {
                if leading[leading.count - 8] >= 2 {
                    result.append((.phoneNumber, run.start - (plusHere ? 1 : 0), run.end))
                    position += 1
                    continue
                }
            }
            // Phone with a separate country code run ("+47 912 34 567", "0047 91234567").
            var subscriberStart = position
            var prefixStart: Int? = nil
            if (run.count == 2 && plusHere && leading == [4, 7]) || (run.count == 4 && leading == [0, 0, 4, 7]) {
                if position + 1 < runs.count {
                    subscriberStart = position + 1
                    prefixStart = run.start - (plusHere ? 1 : 0)
                }
            }
            if let end = subscriberEnd(runs, bytes, from: subscriberStart) {
                result.append((.phoneNumber, prefixStart ?? runs[subscriberStart].start, runs[end].end))
                position = end + 1
                continue
            }
            position += 1
        }
        return result
    }

    /// Index of the last run when runs from `start` add up to exactly 8 digits starting 2–9.
    private static func subscriberEnd(_ runs: [Run], _ bytes: [UInt8], from start: Int) -> Int? {
        guard start < runs.count, bytes[runs[start].start] >= UInt8(ascii: "2") else { return nil }
        var total = 0
        for position in start..<runs.count {
            total += runs[position].count
            if total == 8 { return position }
            if total > 8 { return nil }
        }
        return nil
    }

    // MARK: E-mail

    private static func isLocalByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte >= 0x80
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    private static func isDomainByte(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte >= 0x80
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    private static func emailSpans(_ bytes: [UInt8]) -> [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] {
        var result: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        var lastEnd = 0
        for at in bytes.indices where bytes[at] == UInt8(ascii: "@") && at >= lastEnd {
            var start = at
            while start > lastEnd, isLocalByte(bytes[start - 1]) { start -= 1 }
            while start < at, bytes[start] == UInt8(ascii: ".") { start += 1 }
            var end = at + 1
            while end < bytes.count, isDomainByte(bytes[end]) { end += 1 }
            while end > at + 1, bytes[end - 1] == UInt8(ascii: ".") || bytes[end - 1] == UInt8(ascii: "-") { end -= 1 }
            guard start < at, end > at + 1 else { continue }
            let domain = bytes[(at + 1)..<end]
            guard let lastDot = domain.lastIndex(of: UInt8(ascii: ".")), lastDot > at + 1 else { continue }
            let topLevel = bytes[(lastDot + 1)..<end]
            guard topLevel.count >= 2, topLevel.allSatisfy({ !isDigit($0) && $0 != UInt8(ascii: "-") }) else {
                continue
            }
            result.append((.emailAddress, start, end))
            lastEnd = end
        }
        return result
    }
}
