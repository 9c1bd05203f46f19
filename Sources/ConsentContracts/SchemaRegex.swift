/// A small backtracking regular-expression engine for schema `pattern`s (ECMA-262 subset).
///
/// Supports literals, `.`, `^`, `$`, classes `[...]` with ranges and negation, `\d \D \w \W
/// \s \S`, escaped punctuation, groups `( )` / `(?: )`, alternation `|`, and the quantifiers
/// `* + ? {n} {n,} {n,m}` (greedy and lazy). Anything else is a compile error, so a contract
/// never carries a pattern that is silently read differently. Search semantics as in JSON
/// Schema: the pattern may match anywhere unless anchored.
struct SchemaRegex: Sendable {
    struct SyntaxError: Error, Sendable {
        let message: String
    }

    struct ClassItem: Sendable {
        let lower: Unicode.Scalar
        let upper: Unicode.Scalar
    }

    struct CharacterClass: Sendable {
        var items: [ClassItem] = [] {
            didSet { rebuildBitmap() }
        }
        var isNegated = false
        /// Membership of U+0000…U+007F before negation, so ASCII input needs no item scan.
        private var low: UInt64 = 0
        private var high: UInt64 = 0

        init(items: [ClassItem] = [], isNegated: Bool = false) {
            self.items = items
            self.isNegated = isNegated
            rebuildBitmap()
        }

        private mutating func rebuildBitmap() {
            low = 0
            high = 0
            for item in items where item.lower.value < 128 {
                for value in item.lower.value...min(item.upper.value, 127) {
                    if value < 64 { low |= 1 << UInt64(value) } else { high |= 1 << UInt64(value - 64) }
                }
            }
        }

        @inline(__always)
        func contains(_ scalar: Unicode.Scalar) -> Bool {
            let value = scalar.value
            if value < 64 { return (low >> UInt64(value)) & 1 == 1 ? !isNegated : isNegated }
            if value < 128 { return (high >> UInt64(value - 64)) & 1 == 1 ? !isNegated : isNegated }
            var found = false
            for item in items where item.lower <= scalar && scalar <= item.upper {
                found = true
                break
            }
            return found != isNegated
        }
    }

    indirect enum Node: Sendable {
        case literal(Unicode.Scalar)
        case any
        case characterClass(CharacterClass)
        case start
        case end
        case group([[Node]])
        case repeated(Node, min: Int, max: Int, isGreedy: Bool)

        /// Whether this one-character atom accepts `scalar` (false for every other node).
        @inline(__always)
        func accepts(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .literal(let expected): return scalar == expected
            case .any: return scalar != "\n" && scalar != "\r" && scalar != "\u{2028}" && scalar != "\u{2029}"
            case .characterClass(let set): return set.contains(scalar)
            default: return false
            }
        }
    }

    /// The pattern as written in the schema.
    let source: String
    private let alternatives: [[Node]]
    private let isAnchoredAtStart: Bool
    /// `^a{m,n}…$` with one-character atoms where only the last may vary in length: matched in
    /// one left-to-right pass without backtracking (most contract patterns have this shape).
    private let linear: [LinearStep]?
    /// The pattern as a deterministic automaton over ASCII, when it has one of a bounded size:
    /// one table lookup per byte, whatever the pattern's groups and repetitions (the
    /// backtracking matcher took ~14% of deciding an event, mostly on `^(/[^/]*)+$` and
    /// `^[a-z0-9]+([.-][a-z0-9]+)*$` in the bridge's own notices and receipts).
    private let automaton: ASCIIAutomaton?

    fileprivate struct LinearStep: Sendable {
        let atom: Node
        let min: Int
        let max: Int
    }

    init(_ source: String) throws(SyntaxError) {
        self.source = source
        var parser = RegexParser(scalars: Array(source.unicodeScalars))
        alternatives = try parser.parseAll()
        isAnchoredAtStart = alternatives.allSatisfy { sequence in
            if case .start = sequence.first { return true }
            return false
        }
        linear = Self.linearForm(alternatives)
        automaton = ASCIIAutomaton(alternatives)
    }

    private static func linearForm(_ alternatives: [[Node]]) -> [LinearStep]? {
        guard alternatives.count == 1, let sequence = alternatives.first, sequence.count >= 2,
            case .start = sequence.first, case .end = sequence.last
        else { return nil }
        var steps: [LinearStep] = []
        for node in sequence.dropFirst().dropLast() {
            switch node {
            case .literal, .any, .characterClass:
                steps.append(LinearStep(atom: node, min: 1, max: 1))
            case .repeated(let atom, let min, let max, _):
                switch atom {
                case .literal, .any, .characterClass: steps.append(LinearStep(atom: atom, min: min, max: max))
                default: return nil
                }
            default:
                return nil
            }
        }
        // Greedy without backtracking is exact only if nothing but the end follows a variable step.
        for step in steps.dropLast() where step.min != step.max { return nil }
        return steps
    }

    private func matchLinear<Input>(_ steps: [LinearStep], _ matcher: Matcher<Input>) -> Bool {
        let input = matcher.input
        var position = 0
        for step in steps {
            var count = 0
            while count < step.max, position < input.count, matcher.single(step.atom, input[position]) {
                count += 1
                position += 1
            }
            if count < step.min { return false }
        }
        return position == input.count
    }

    /// The parsed pattern: its top-level alternatives.
    var parsedAlternatives: [[Node]] { alternatives }

    /// True when the pattern matches somewhere in `text`.
    func search(_ text: String) -> Bool {
        if let automaton, let decided = text.utf8.withContiguousStorageIfAvailable(automaton.matches), let decided {
            return decided
        }
        return searchByBacktracking(text)
    }

    /// `search` without the automaton (the reference the automaton is tested against).
    func searchByBacktracking(_ text: String) -> Bool {
        // Most contract strings are ASCII: match straight on the UTF-8 bytes, no copy.
        let asciiResult: Bool?? = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
            guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
            return search(in: Matcher(input: ASCIIScalars(bytes: bytes)))
        }
        if let asciiResult, let result = asciiResult { return result }
        return search(in: Matcher(input: Array(text.unicodeScalars)))
    }

    private func search<Input>(in matcher: Matcher<Input>) -> Bool {
        if let linear { return matchLinear(linear, matcher) }
        let lastStart = isAnchoredAtStart ? 0 : matcher.input.count
        for start in 0...lastStart {
            for sequence in alternatives where matcher.match(sequence[...], start, { _ in true }) {
                return true
            }
        }
        return false
    }

    /// ASCII bytes seen as Unicode scalars.
    private struct ASCIIScalars: RandomAccessCollection {
        let bytes: UnsafeBufferPointer<UInt8>
        var startIndex: Int { 0 }
        var endIndex: Int { bytes.count }
        subscript(position: Int) -> Unicode.Scalar { Unicode.Scalar(bytes[position]) }
    }

    private struct Matcher<Input: RandomAccessCollection> where Input.Element == Unicode.Scalar, Input.Index == Int {
        let input: Input

        func match(_ sequence: ArraySlice<Node>, _ position: Int, _ next: (Int) -> Bool) -> Bool {
            guard let first = sequence.first else { return next(position) }
            let rest = sequence.dropFirst()
            switch first {
            case .start:
                return position == 0 && match(rest, position, next)
            case .end:
                return position == input.count && match(rest, position, next)
            case .literal, .any, .characterClass:
                guard position < input.count, single(first, input[position]) else { return false }
                return match(rest, position + 1, next)
            case .group(let alternatives):
                for alternative in alternatives
                where match(alternative[...], position, { match(rest, $0, next) }) {
                    return true
                }
                return false
            case .repeated(let node, let min, let max, let isGreedy):
                if isSingle(node) {
                    return repeatSingle(node, min, max, isGreedy, position) { match(rest, $0, next) }
                }
                return repeatMatch(node, min, max, isGreedy, 0, position) { match(rest, $0, next) }
            }
        }

        /// Matches exactly one node, then continues with `next`.
        private func matchOne(_ node: Node, _ position: Int, _ next: (Int) -> Bool) -> Bool {
            switch node {
            case .literal, .any, .characterClass:
                guard position < input.count, single(node, input[position]) else { return false }
                return next(position + 1)
            case .start:
                return position == 0 && next(position)
            case .end:
                return position == input.count && next(position)
            case .group(let alternatives):
                for alternative in alternatives where match(alternative[...], position, next) {
                    return true
                }
                return false
            case .repeated(let inner, let min, let max, let isGreedy):
                if isSingle(inner) { return repeatSingle(inner, min, max, isGreedy, position, next) }
                return repeatMatch(inner, min, max, isGreedy, 0, position, next)
            }
        }

        private func isSingle(_ node: Node) -> Bool {
            switch node {
            case .literal, .any, .characterClass: return true
            default: return false
            }
        }

        /// A repeated one-character atom: count the run once, then try lengths without recursion.
        private func repeatSingle(
            _ node: Node, _ min: Int, _ max: Int, _ isGreedy: Bool, _ position: Int, _ next: (Int) -> Bool
        ) -> Bool {
            var available = 0
            while available < max, position + available < input.count, single(node, input[position + available]) {
                available += 1
            }
            guard available >= min else { return false }
            if isGreedy {
                var count = available
                while count >= min {
                    if next(position + count) { return true }
                    count -= 1
                }
            } else {
                for count in min...available where next(position + count) { return true }
            }
            return false
        }

        private func repeatMatch(
            _ node: Node, _ min: Int, _ max: Int, _ isGreedy: Bool, _ count: Int, _ position: Int,
            _ next: (Int) -> Bool
        ) -> Bool {
            if count < min {
                return matchOne(node, position) { repeatMatch(node, min, max, isGreedy, count + 1, $0, next) }
            }
            if !isGreedy, next(position) { return true }
            // An iteration that consumed nothing cannot make progress; stop there.
            if count < max,
                matchOne(
                    node, position,
                    {
                        $0 != position && repeatMatch(node, min, max, isGreedy, count + 1, $0, next)
                    })
            {
                return true
            }
            return isGreedy && next(position)
        }

        @inline(__always)
        func single(_ node: Node, _ scalar: Unicode.Scalar) -> Bool { node.accepts(scalar) }
    }

    private struct RegexParser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func parseAll() throws(SyntaxError) -> [[Node]] {
            let result = try parseAlternatives()
            guard index == scalars.count else { throw SyntaxError(message: "unbalanced ')'") }
            return result
        }

        private mutating func parseAlternatives() throws(SyntaxError) -> [[Node]] {
            var alternatives: [[Node]] = [try parseSequence()]
            while index < scalars.count, scalars[index] == "|" {
                index += 1
                alternatives.append(try parseSequence())
            }
            return alternatives
        }

        private mutating func parseSequence() throws(SyntaxError) -> [Node] {
            var nodes: [Node] = []
            while index < scalars.count, scalars[index] != "|", scalars[index] != ")" {
                var atom = try parseAtom()
                if let (min, max) = try parseQuantifier() {
                    switch atom {
                    case .start, .end: throw SyntaxError(message: "quantified anchor")
                    default: break
                    }
                    var isGreedy = true
                    if index < scalars.count, scalars[index] == "?" {
                        isGreedy = false
                        index += 1
                    }
                    atom = .repeated(atom, min: min, max: max, isGreedy: isGreedy)
                }
                nodes.append(atom)
            }
            return nodes
        }

        private mutating func parseQuantifier() throws(SyntaxError) -> (Int, Int)? {
            guard index < scalars.count else { return nil }
            switch scalars[index] {
            case "*":
                index += 1
                return (0, Int.max)
            case "+":
                index += 1
                return (1, Int.max)
            case "?":
                index += 1
                return (0, 1)
            case "{":
                index += 1
                guard let min = parseInteger() else { throw SyntaxError(message: "bad {n,m}") }
                var max = min
                if index < scalars.count, scalars[index] == "," {
                    index += 1
                    max = parseInteger() ?? Int.max
                }
                guard index < scalars.count, scalars[index] == "}", min <= max else {
                    throw SyntaxError(message: "bad {n,m}")
                }
                index += 1
                return (min, max)
            default: return nil
            }
        }

        private mutating func parseInteger() -> Int? {
            var value = 0
            let start = index
            while index < scalars.count,
                let digit = scalars[index].properties.numericType == .decimal
                    ? Int(String(scalars[index])) : nil, scalars[index].isASCII
            {
                value = value * 10 + digit
                if value > 100_000 { return nil }
                index += 1
            }
            return index > start ? value : nil
        }

        private mutating func parseAtom() throws(SyntaxError) -> Node {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "^": return .start
            case "$": return .end
            case ".": return .any
            case "(":
                if index < scalars.count, scalars[index] == "?" {
                    guard index + 1 < scalars.count, scalars[index + 1] == ":" else {
                        throw SyntaxError(message: "only (?: ) groups are supported")
                    }
                    index += 2
                }
                let alternatives = try parseAlternatives()
                guard index < scalars.count, scalars[index] == ")" else { throw SyntaxError(message: "unclosed group") }
                index += 1
                return .group(alternatives)
            case "[": return .characterClass(try parseClass())
            case "\\": return try parseEscape(inClass: false)
            case "*", "+", "?", "{": throw SyntaxError(message: "nothing to repeat")
            case "]", "}": throw SyntaxError(message: "unescaped '\(scalar)'")
            default: return .literal(scalar)
            }
        }

        private mutating func parseClass() throws(SyntaxError) -> CharacterClass {
            var set = CharacterClass()
            if index < scalars.count, scalars[index] == "^" {
                set.isNegated = true
                index += 1
            }
            var isFirst = true
            while index < scalars.count, scalars[index] != "]" || isFirst && false {
                isFirst = false
                var lower: Unicode.Scalar
                let scalar = scalars[index]
                index += 1
                if scalar == "\\" {
                    switch try parseEscape(inClass: true) {
                    case .literal(let literal): lower = literal
                    case .characterClass(let nested):
                        guard !nested.isNegated else { throw SyntaxError(message: "negated shorthand in class") }
                        set.items.append(contentsOf: nested.items)
                        continue
                    default: throw SyntaxError(message: "bad escape in class")
                    }
                } else {
                    lower = scalar
                }
                if index + 1 < scalars.count, scalars[index] == "-", scalars[index + 1] != "]" {
                    index += 1
                    var upper = scalars[index]
                    index += 1
                    if upper == "\\" {
                        guard case .literal(let literal) = try parseEscape(inClass: true) else {
                            throw SyntaxError(message: "bad range")
                        }
                        upper = literal
                    }
                    guard lower <= upper else { throw SyntaxError(message: "range out of order") }
                    set.items.append(ClassItem(lower: lower, upper: upper))
                } else {
                    set.items.append(ClassItem(lower: lower, upper: lower))
                }
            }
            guard index < scalars.count else { throw SyntaxError(message: "unclosed class") }
            index += 1
            return set
        }

        private mutating func parseEscape(inClass: Bool) throws(SyntaxError) -> Node {
            guard index < scalars.count else { throw SyntaxError(message: "trailing backslash") }
            let scalar = scalars[index]
            index += 1
            func shorthand(_ items: [ClassItem], negated: Bool) -> Node {
                .characterClass(CharacterClass(items: items, isNegated: negated))
            }
            let digits = [ClassItem(lower: "0", upper: "9")]
            let word = [
                ClassItem(lower: "a", upper: "z"), ClassItem(lower: "A", upper: "Z"),
                ClassItem(lower: "0", upper: "9"), ClassItem(lower: "_", upper: "_"),
            ]
            let space: [ClassItem] = [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}", "\u{A0}", "\u{FEFF}"].map {
                ClassItem(lower: $0, upper: $0)
            }
            switch scalar {
            case "d": return shorthand(digits, negated: false)
            case "D": return shorthand(digits, negated: true)
            case "w": return shorthand(word, negated: false)
            case "W": return shorthand(word, negated: true)
            case "s": return shorthand(space, negated: false)
            case "S": return shorthand(space, negated: true)
            case "n": return .literal("\n")
            case "t": return .literal("\t")
            case "r": return .literal("\r")
            case "-" where inClass: return .literal("-")
            default:
                // Escaped punctuation is literal; escaped letters/digits would be ECMA features
                // (backreferences, \b, \p{…}) this engine does not implement.
                guard scalar.isASCII, !scalar.properties.isAlphabetic, !("0"..."9").contains(scalar) else {
                    throw SyntaxError(message: "unsupported escape '\\\(scalar)'")
                }
                return .literal(scalar)
            }
        }
    }
}
