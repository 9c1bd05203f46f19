/// Finds fødselsnumre/D-numbers, Norwegian phone numbers and e-mail addresses in free text.
///
/// Used to keep direct identifiers from slipping through free-text fields and to prove that
/// logs and operator views hold none. It errs on the side of finding: any 8-digit group that
/// looks like a Norwegian subscriber number counts as a phone number.
///
/// Digits are read as a person reads them (R16): every Unicode decimal digit (`Nd`: fullwidth,
/// Arabic-Indic, …) and every other digit with a value 0–9 (superscript, subscript, circled)
/// counts as its value; format characters (`Cf`: zero-width spaces and joiners, the byte order
/// mark, the soft hyphen) and combining marks are read as absent. Groups of digits separated by
/// spaces (ASCII space, tab, any `Zs` such as the no-break spaces) and separators (`-`, `.`,
/// `/`, a Unicode dash, a fullwidth full stop or solidus; `,`, `_`, `:`) form one chain: a
/// classic gap is at most two spaces and one `-`, `.` or `/`; a wide gap up to 16 spaces and
/// three separators of any kind (`081055_16577`, `22,08,57,23948`, `221281   44734`). A
/// newline, a letter or any other character ends a chain; a group glued to letters still
/// belongs to it (`fnr01095424879`, `pasient01055839650x`).
///
/// A fødselsnummer is any run of whole groups in a chain that adds up to eleven digits and
/// passes the checksum and date checks; with `windows` (free text), also any eleven digits in
/// a row inside a longer group (`7<number>3`). A phone number is eight digits starting 2–9
/// (or with +47/0047) in classic gaps and not glued to letters (`REF12345678` is a code), with
/// one guard against dates and amounts: groups split by `-`, `.` or `/` count only in the
/// layouts Norwegian phone numbers are written in (`912-34-567`, `91.23.45.67`, `9123-4567`,
/// not `2025-2026`).
///
/// Not read: digits split by letters (`nr010954og24879`), encodings (base64, percent) and
/// letters for digits (`O` for 0): deliberate disguise, which a scan cannot exhaust; R16's
/// concern is a clinician writing a relative's number the way people write numbers.
package enum PersonalDataScanner {
    /// Every finding in `text`, ordered by position, non-overlapping. `windows`: also any
    /// eleven digits in a row inside a longer run (for free text; not for ids, where a long
    /// numeric id has several windows, each a valid number about once in 560).
    package static func findings(in text: String, allowSynthetic: Bool, windows: Bool = false)
        -> [PersonalDataFinding]
    {
        let bytes = Array(text.utf8)
        var spans: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        for span in digitSpans(Self.maskingRandomHex(bytes), allowSynthetic: allowSynthetic, windows: windows) {
            spans.append(span)
        }
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

    /// A cheap pass before `findings` (which allocates): whether `text` has at least
    /// `minimumDigits` digits joined as `findings` joins them (by separators: at most 16 spaces
    /// and three separators between two digits; format characters ignored; looser than the
    /// chains `findings` reads, never stricter), or an `@` when `orAddress`. ASCII is read byte
    /// by byte; only a character beyond it is decoded.
    package static func mayHold(_ text: String, minimumDigits: Int, orAddress: Bool) -> Bool {
        var chain = 0
        var spaces = 0  // separators since the last digit
        var marks = 0
        var scalar: UInt32 = 0
        var pending = 0  // continuation bytes still to come
        for byte in text.utf8 {
            if byte < 0x80 {
                if byte &- UInt8(ascii: "0") < 10 {
                    chain += 1
                    if chain >= minimumDigits { return true }
                    spaces = 0
                    marks = 0
                } else if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                    spaces += 1
                    if spaces > Self.wideSpaces { chain = 0 }
                } else if byte &- UInt8(ascii: "-") < 3 || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ":")
                {  // - . / , _ :
                    marks += 1
                    if marks > Self.wideMarks { chain = 0 }
                } else {
                    if orAddress, byte == UInt8(ascii: "@") { return true }
                    chain = 0
                }
                continue
            }
            if byte >= 0xC0 {
                pending = byte >= 0xF0 ? 3 : byte >= 0xE0 ? 2 : 1
                scalar = UInt32(byte) & (0x3F >> pending)
                continue
            }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
            pending -= 1
            guard pending == 0, let decoded = Unicode.Scalar(scalar) else { continue }
            switch symbol(of: decoded) {
            case .digit:
                chain += 1
                if chain >= minimumDigits { return true }
                spaces = 0
                marks = 0
            case .invisible: break
            case .space:
                spaces += 1
                if spaces > Self.wideSpaces { chain = 0 }
            case .mark, .weakMark:
                marks += 1
                if marks > Self.wideMarks { chain = 0 }
            case .word, .other: chain = 0
            }
        }
        return false
    }

    // MARK: Random hex

    /// `bytes` with every random-looking hex token replaced by `#` (a boundary), byte for byte:
    /// a canonical UUID (`8-4-4-4-12`) and any whole alphanumeric token of 16 or more hex digits
    /// with a letter among them (a case reference, a hash, a trace id). Their digit runs are
    /// random, not numbers anyone wrote, and read as numbers glued to letters or joined across
    /// a UUID's hyphens 6.5 random UUIDs in 100,000 held a "fødselsnummer" (ce_id refused,
    /// measured over 400,000). A number glued into a word that is not all hex is still read.
    static func maskingRandomHex(_ bytes: [UInt8]) -> [UInt8] {
        func isHex(_ byte: UInt8) -> Bool {
            byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 6
        }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            byte &- UInt8(ascii: "0") < 10 || (byte | 0x20) &- UInt8(ascii: "a") < 26 || byte >= 0x80
        }
        var masked = bytes
        var changed = false
        var start = 0
        while start < bytes.count {
            guard isAlphanumeric(bytes[start]) else {
                start += 1
                continue
            }
            var end = start
            while end < bytes.count, isAlphanumeric(bytes[end]) { end += 1 }
            // A UUID: tokens of 8, 4, 4, 4 and 12 hex digits joined by single hyphens.
            var uuidEnd: Int? = nil
            var cursor = start
            for (index, length) in [8, 4, 4, 4, 12].enumerated() {
                guard cursor + length <= bytes.count, bytes[cursor..<(cursor + length)].allSatisfy(isHex) else { break }
                cursor += length
                if index == 4 {
                    if cursor == bytes.count || !isAlphanumeric(bytes[cursor]) { uuidEnd = cursor }
                    break
                }
                guard cursor < bytes.count, bytes[cursor] == UInt8(ascii: "-") else { break }
                cursor += 1
            }
            let isRandomHex =
                end - start >= 16 && bytes[start..<end].allSatisfy(isHex)
                && bytes[start..<end].contains { $0 &- UInt8(ascii: "0") >= 10 }
            if let uuidEnd {
                for index in start..<uuidEnd { masked[index] = UInt8(ascii: "#") }
                changed = true
                start = uuidEnd
                continue
            }
            if isRandomHex {
                for index in start..<end { masked[index] = UInt8(ascii: "#") }
                changed = true
            }
            start = end
        }
        return changed ? masked : bytes
    }

    // MARK: Characters

    /// What one character is to the digit reader.
    enum Symbol: Equatable {
        /// A decimal digit (`Nd`) with its value.
        case digit(UInt8)
        /// Read as absent: a format character (`Cf`) or a combining mark.
        case invisible
        /// ASCII space, tab, or a space separator (`Zs`).
        case space
        /// `-`, `.` or `/` (a Unicode dash reads as `-`, fullwidth ones as their ASCII forms).
        case mark(UInt8)
        /// `,`, `_` (any connector) or `:`: joins groups only across a wide gap.
        case weakMark
        /// Letters (and numbers that are not digits): a digit group may be glued to them.
        case word
        /// Anything else: a boundary (its ASCII byte, or 0 beyond ASCII).
        case other(UInt8)
    }

    @inline(__always)
    private static func asciiSymbol(_ byte: UInt8) -> Symbol {
        if byte &- UInt8(ascii: "0") < 10 { return .digit(byte &- UInt8(ascii: "0")) }
        if (byte | 0x20) &- UInt8(ascii: "a") < 26 { return .word }
        switch byte {
        case UInt8(ascii: " "), UInt8(ascii: "\t"): return .space
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"): return .mark(byte)
        case UInt8(ascii: ","), UInt8(ascii: "_"), UInt8(ascii: ":"): return .weakMark
        default: return .other(byte)
        }
    }

    /// The symbol of a character beyond ASCII.
    static func symbol(of scalar: Unicode.Scalar) -> Symbol {
        switch scalar.value {
        case 0x00A0: return .space
        case 0x00AD: return .invisible
        case 0x00C0...0x00FF: return scalar.value == 0xD7 || scalar.value == 0xF7 ? .other(0) : .word  // æ, ø, å …
        case 0xFF0B: return .other(UInt8(ascii: "+"))
        case 0xFF0E: return .mark(UInt8(ascii: "."))
        case 0xFF0F, 0x2044, 0x2215: return .mark(UInt8(ascii: "/"))
        default: break
        }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .decimalNumber:
            guard let value = properties.numericValue, value >= 0, value <= 9 else { return .word }
            return .digit(UInt8(value))
        case .otherNumber:
            // Superscript, subscript, circled digits: read as the digit they show.
            guard let value = properties.numericValue, value >= 0, value <= 9, value == value.rounded() else {
                return .word
            }
            return .digit(UInt8(value))
        case .format, .nonspacingMark, .enclosingMark: return .invisible
        case .spaceSeparator: return .space
        case .dashPunctuation: return .mark(UInt8(ascii: "-"))
        case .connectorPunctuation: return .weakMark
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .spacingMark,
            .letterNumber:
            return .word
        default: return .other(0)
        }
    }

    /// The symbol at `index` of the UTF-8 `bytes` (valid, as a `String`'s are) and its length.
    @inline(__always)
    private static func symbol(_ bytes: [UInt8], at index: Int) -> (symbol: Symbol, length: Int) {
        let lead = bytes[index]
        if lead < 0x80 { return (asciiSymbol(lead), 1) }
        let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
        guard index + length <= bytes.count else { return (.other(0), 1) }
        var value = UInt32(lead) & (0x7F >> length)
        for offset in 1..<length { value = value << 6 | UInt32(bytes[index + offset] & 0x3F) }
        guard let scalar = Unicode.Scalar(value) else { return (.other(0), length) }
        return (symbol(of: scalar), length)
    }

    // MARK: Digits

    /// One group of digits in a chain.
    private struct Group {
        /// Byte offsets of the first digit and after the last one.
        var start: Int
        var end: Int
        /// Where the group's digits start in the chain's digit values, and how many there are.
        var first: Int
        var count: Int
        /// What separated it from the group before: `-`, `.`, `/`, a space (`" "`: spaces
        /// only), `wideGap`, or 0 for the first group of a chain.
        var gap: UInt8
    }

    /// A gap of more than two spaces or more than one separator (`Group.gap`).
    private static let wideGap: UInt8 = 0xFF
    /// Most spaces, and most separators, in a wide gap.
    private static let wideSpaces = 16
    private static let wideMarks = 3

    /// Chains of digit groups (above). A group glued to letters ("ABC123") stays in its chain
    /// for identity numbers (their checks keep codes out) but not for phone numbers (eight
    /// digits starting 2–9 would make every such code one).
    private static func digitSpans(
        _ bytes: [UInt8], allowSynthetic: Bool, windows: Bool
    ) -> [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] {
        var result: [(kind: PersonalDataFinding.Kind, start: Int, end: Int)] = []
        var digits: [UInt8] = []
        var groups: [Group] = []
        var before: Symbol = .other(0)  // the last visible character before `index`
        var beforeOffset = 0
        var index = 0
        while index < bytes.count {
            let (current, length) = symbol(bytes, at: index)
            guard case .digit = current else {
                if current != .invisible {
                    before = current
                    beforeOffset = index
                }
                index += length
                continue
            }
            digits.removeAll(keepingCapacity: true)
            groups.removeAll(keepingCapacity: true)
            var gap: UInt8 = 0
            var after: Symbol = .other(0)  // the first visible character after the chain
            chain: while true {
                let start = index
                var end = index
                let first = digits.count
                group: while index < bytes.count {
                    let (next, length) = symbol(bytes, at: index)
                    switch next {
                    case .digit(let value):
                        digits.append(value)
                        end = index + length
                    case .invisible: break
                    default:
                        after = next
                        break group
                    }
                    index += length
                }
                if index == bytes.count { after = .other(0) }
                groups.append(Group(start: start, end: end, first: first, count: digits.count - first, gap: gap))
                // A gap, then a digit: classic (at most two spaces and one `-`, `.` or `/`) or
                // wide (up to 16 spaces and three separators of any kind).
                var cursor = index
                var spaces = 0
                var marks = 0
                var mark: UInt8 = 0
                var weak = false
                gapLoop: while cursor < bytes.count {
                    let (next, length) = symbol(bytes, at: cursor)
                    switch next {
                    case .space:
                        spaces += 1
                        if spaces > Self.wideSpaces { break gapLoop }
                    case .mark(let byte):
                        marks += 1
                        if marks > Self.wideMarks { break gapLoop }
                        mark = byte
                    case .weakMark:
                        marks += 1
                        if marks > Self.wideMarks { break gapLoop }
                        weak = true
                    case .invisible: break
                    case .digit:
                        guard spaces > 0 || marks > 0 else { break gapLoop }
                        let isClassic = spaces <= 2 && marks <= 1 && !weak
                        gap = isClassic ? (marks == 0 ? UInt8(ascii: " ") : mark) : Self.wideGap
                        index = cursor
                        continue chain
                    default: break gapLoop
                    }
                    cursor += length
                }
                break chain
            }
            let plus = before == .other(UInt8(ascii: "+")) ? beforeOffset : nil
            matchChain(
                groups[...], digits, plusOffset: plus, glued: (before == .word, after == .word),
                allowSynthetic: allowSynthetic, windows: windows, into: &result)
            before = .digit(0)
        }
        return result
    }

    /// Identity numbers and phone numbers in one chain. `glued`: whether its first group is
    /// glued to a letter before it, and its last to one after it.
    private static func matchChain(
        _ groups: ArraySlice<Group>, _ digits: [UInt8], plusOffset: Int?, glued: (first: Bool, last: Bool),
        allowSynthetic: Bool, windows: Bool,
        into result: inout [(kind: PersonalDataFinding.Kind, start: Int, end: Int)]
    ) {
        var position = groups.startIndex
        while position < groups.endIndex {
            let group = groups[position]
            // Identity number: whole groups adding up to 11 digits ("DDMMYYIIIKK", "DDMMYY IIIKK",
            // "DD.MM.YY IIIKK", one digit a group, …).
            var total = 0
            var last = position
            while last < groups.endIndex, total < 11 {
                total += groups[last].count
                last += 1
            }
            if total == 11,
                NorwegianIdentifier.parse(
                    digits: digits[group.first..<(group.first + 11)].map { Int($0) }, allowSynthetic: allowSynthetic)
                    != nil
            {
                result.append((.nationalIdentityNumber, group.start, groups[last - 1].end))
                position = last
                continue
            }
            // Eleven digits in a row inside a longer run ("7DDMMYYIIIKK3"), in free text.
            if windows, group.count > 11,
                (0...(group.count - 11)).contains(where: { offset in
                    NorwegianIdentifier.parse(
                        digits: digits[(group.first + offset)..<(group.first + offset + 11)].map { Int($0) },
                        allowSynthetic: allowSynthetic) != nil
                })
            {
                result.append((.nationalIdentityNumber, group.start, group.end))
                position += 1
                continue
            }
            // A phone number is never read into a code (a group glued to letters).
            if glued.first && position == groups.startIndex {
                position += 1
                continue
            }
            // Phone with country code in one group: +4791234567 / 004791234567.
            let plusHere = position == groups.startIndex ? plusOffset : nil
            let leading = digits[group.first..<(group.first + group.count)]
            if (group.count == 10 && plusHere != nil && leading.starts(with: [4, 7]))
                || (group.count == 12 && leading.starts(with: [0, 0, 4, 7]))
            {
                if leading[leading.endIndex - 8] >= 2 {
                    result.append((.phoneNumber, plusHere ?? group.start, group.end))
                    position += 1
                    continue
                }
            }
            // Phone with a separate country code group ("+47 912 34 567", "0047 91234567").
            var subscriberStart = position
            var prefixStart: Int? = nil
            if (group.count == 2 && plusHere != nil && leading.elementsEqual([4, 7]))
                || (group.count == 4 && leading.elementsEqual([0, 0, 4, 7]))
            {
                if position + 1 < groups.endIndex {
                    subscriberStart = position + 1
                    prefixStart = plusHere ?? group.start
                }
            }
            if let end = subscriberEnd(groups, digits, from: subscriberStart),
                !(glued.last && end == groups.endIndex - 1)
            {
                result.append((.phoneNumber, prefixStart ?? groups[subscriberStart].start, groups[end].end))
                position = end + 1
                continue
            }
            position += 1
        }
    }

    /// Index of the last group when groups from `start` add up to exactly 8 digits starting 2–9,
    /// split by spaces, or by one mark in a phone number's layout (3-2-3, 2-2-2-2, 4-4 but not a
    /// range of years): a date (`25.06.2026`, `2026-06-25`) or an amount (`25.000.000`) is not.
    private static func subscriberEnd(_ groups: ArraySlice<Group>, _ digits: [UInt8], from start: Int) -> Int? {
        guard start < groups.endIndex, digits[groups[start].first] >= 2 else { return nil }
        var total = 0
        var end = start
        while true {
            total += groups[end].count
            if total == 8 { break }
            if total > 8 { return nil }
            end += 1
            if end == groups.endIndex { return nil }
        }
        guard end > start else { return end }
        let gap = groups[start + 1].gap
        guard gap != Self.wideGap else { return nil }
        guard groups[(start + 1)...end].allSatisfy({ $0.gap == gap }) else { return nil }
        if gap == UInt8(ascii: " ") { return end }
        switch groups[start...end].map(\.count) {
        case [3, 2, 3], [2, 2, 2, 2]: return end
        case [4, 4]:
            func isYear(_ group: Group) -> Bool {
                let century = digits[group.first] * 10 + digits[group.first + 1]
                return century == 19 || century == 20
            }
            return isYear(groups[start]) && isYear(groups[end]) ? nil : end
        default: return nil
        }
    }

    // MARK: E-mail

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

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
