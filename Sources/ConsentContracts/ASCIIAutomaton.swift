/// A schema pattern as a deterministic finite automaton over ASCII bytes.
///
/// Built once per pattern: the pattern's Thompson automaton (states joined by empty moves and
/// one-character steps), made deterministic by the subset construction over the 128 ASCII
/// characters. Matching is then a table lookup per byte, with no backtracking, so a pattern
/// like `^(/[^/]*)+$` costs the same as `^[0-9]{11}$`. The bytes every state treats alike
/// share a class (most patterns need 2 to 4), and the table has a row of classes per state,
/// not of 128 bytes: at 256 bytes per state a UUID pattern's table alone was 9.5 KB, and each
/// byte's lookup (which waits on the one before) waited on the cache. A byte's class does not
/// depend on the state, so finding it does not lengthen that wait. Only a match/no-match is needed
/// (greedy and lazy quantifiers accept the same strings). Patterns it does not cover (an
/// anchor inside a group, alternatives anchored differently, huge counted repetitions) have
/// no automaton, and input with a non-ASCII byte is left to the backtracking matcher.
struct ASCIIAutomaton: Sendable {
    /// Each ASCII byte's class: bytes that lead every state to the same next state share one.
    private let classOf: [UInt8]
    /// A state's row of `table` starts at the state's number times the number of classes. An
    /// entry names the next state by where its row starts, times two, plus one if that state
    /// accepts; -1: no match can follow. So each byte's step is a load, a shift and an add: with
    /// state numbers the step waited on a multiplication too (each step waits on the one before).
    private let table: [Int32]
    /// The start state's entry (its row is the first; whether it accepts).
    private let startEntry: Int32
    /// The pattern has no `$`: a match may end anywhere, so reaching an accepting state decides.
    private let acceptsEarly: Bool

    /// Largest automaton built (states); a pattern needing more keeps the backtracking matcher.
    static let maximumStates = 4096
    /// Largest count of a repetition that is unrolled into states.
    static let maximumRepetition = 256

    init?(_ alternatives: [[SchemaRegex.Node]]) {
        guard !alternatives.isEmpty else { return nil }
        // Anchors only at the very start and end of every top-level alternative, the same for all.
        func isStart(_ node: SchemaRegex.Node?) -> Bool {
            if case .start? = node { return true }
            return false
        }
        func isEnd(_ node: SchemaRegex.Node?) -> Bool {
            if case .end? = node { return true }
            return false
        }
        let anchoredAtStart = isStart(alternatives[0].first)
        let anchoredAtEnd = isEnd(alternatives[0].last)
        var bodies: [ArraySlice<SchemaRegex.Node>] = []
        for sequence in alternatives {
            guard isStart(sequence.first) == anchoredAtStart, isEnd(sequence.last) == anchoredAtEnd else { return nil }
            var body = sequence[...]
            if anchoredAtStart { body = body.dropFirst() }
            if anchoredAtEnd { body = body.dropLast() }
            bodies.append(body)
        }

        var nfa = NondeterministicAutomaton()
        let start = nfa.newState()
        if !anchoredAtStart {
            // Unanchored: any prefix may come before the match.
            nfa.steps[start].append((.any, start))
            nfa.steps[start].append((.literal("\n"), start))
            nfa.steps[start].append((.literal("\r"), start))
        }
        let accept = nfa.newState()
        for body in bodies {
            guard let end = nfa.build(body, from: start) else { return nil }
            nfa.empty[end].append(accept)
        }
        guard nfa.stateCount <= Self.maximumStates else { return nil }

        // Subset construction: each deterministic state is a set of NFA states closed under
        // empty moves, found once.
        var indexOf: [[Int]: Int] = [:]
        var sets: [[Int]] = []
        var table: [Int16] = []
        var accepting: [Bool] = []
        func add(_ set: [Int]) -> Int? {
            if let index = indexOf[set] { return index }
            guard sets.count < Self.maximumStates else { return nil }
            indexOf[set] = sets.count
            sets.append(set)
            table.append(contentsOf: repeatElement(-1, count: 128))
            accepting.append(set.contains(accept))
            return sets.count - 1
        }
        guard add(nfa.closure([start])) != nil else { return nil }
        var next = 0
        while next < sets.count {
            let set = sets[next]
            for byte in 0..<128 {
                let scalar = Unicode.Scalar(UInt8(byte))
                var targets: [Int] = []
                for state in set {
                    for (atom, target) in nfa.steps[state] where atom.accepts(scalar) { targets.append(target) }
                }
                guard !targets.isEmpty else { continue }
                guard let index = add(nfa.closure(targets)) else { return nil }
                table[next << 7 | byte] = Int16(index)
            }
            next += 1
        }
        // Bytes whose columns are equal (the same next state from every state) form a class.
        var classOfColumn: [[Int16]: UInt8] = [:]
        var classOf: [UInt8] = []
        classOf.reserveCapacity(128)
        for byte in 0..<128 {
            let column = sets.indices.map { table[$0 << 7 | byte] }
            if let known = classOfColumn[column] {
                classOf.append(known)
            } else {
                let new = UInt8(classOfColumn.count)
                classOfColumn[column] = new
                classOf.append(new)
            }
        }
        let classCount = classOfColumn.count
        func entry(_ state: Int) -> Int32 { Int32(state * classCount) << 1 | (accepting[state] ? 1 : 0) }
        var compact = [Int32](repeating: -1, count: sets.count * classCount)
        for state in sets.indices {
            for byte in 0..<128 {
                let next = table[state << 7 | byte]
                compact[state * classCount + Int(classOf[byte])] = next < 0 ? -1 : entry(Int(next))
            }
        }
        self.classOf = classOf
        self.table = compact
        self.startEntry = entry(0)
        self.acceptsEarly = !anchoredAtEnd
    }

    /// Whether the pattern matches `bytes`; `nil` when a non-ASCII byte had to be read.
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        let acceptsEarly = self.acceptsEarly
        var entry = startEntry
        if acceptsEarly, entry & 1 != 0 { return true }
        return table.withUnsafeBufferPointer { table in
            classOf.withUnsafeBufferPointer { classOf in
                for byte in bytes {
                    guard byte < 128 else { return nil }
                    // Rows and classes come from the construction: always within the table.
                    entry = table[Int(truncatingIfNeeded: entry >> 1) &+ Int(classOf[Int(byte)])]
                    if entry < 0 { return false }
                    if acceptsEarly, entry & 1 != 0 { return true }
                }
                return entry & 1 != 0
            }
        }
    }
}

/// Thompson's construction: states joined by empty moves and one-character steps.
private struct NondeterministicAutomaton {
    var empty: [[Int]] = []
    var steps: [[(SchemaRegex.Node, Int)]] = []
    var stateCount: Int { empty.count }

    mutating func newState() -> Int {
        empty.append([])
        steps.append([])
        return empty.count - 1
    }

    /// Adds `nodes` after state `from`; the state reached at their end, or nil if a node is
    /// not covered (an anchor inside, a repetition too large) or the automaton grows too big.
    mutating func build(_ nodes: ArraySlice<SchemaRegex.Node>, from: Int) -> Int? {
        var current = from
        for node in nodes {
            guard stateCount <= ASCIIAutomaton.maximumStates, let end = build(node, from: current) else { return nil }
            current = end
        }
        return current
    }

    private mutating func build(_ node: SchemaRegex.Node, from: Int) -> Int? {
        switch node {
        case .literal, .any, .characterClass:
            let end = newState()
            steps[from].append((node, end))
            return end
        case .start, .end:
            return nil
        case .group(let alternatives):
            let end = newState()
            for alternative in alternatives {
                let entry = newState()
                empty[from].append(entry)
                guard let last = build(alternative[...], from: entry) else { return nil }
                empty[last].append(end)
            }
            return end
        case .repeated(let inner, let min, let max, _):
            guard min <= ASCIIAutomaton.maximumRepetition,
                max == Int.max || max <= ASCIIAutomaton.maximumRepetition
            else { return nil }
            var current = from
            for _ in 0..<min {
                guard let end = build(inner, from: current) else { return nil }
                current = end
            }
            if max == Int.max {
                // Kleene star: from the loop state, either leave or go round once more.
                let loop = newState()
                empty[current].append(loop)
                guard let end = build(inner, from: loop) else { return nil }
                empty[end].append(loop)
                return loop
            }
            let end = newState()
            empty[current].append(end)
            for _ in min..<max {
                guard let next = build(inner, from: current) else { return nil }
                empty[next].append(end)
                current = next
            }
            return end
        }
    }

    /// `states` and everything reachable from them by empty moves, sorted (a set's identity).
    func closure(_ states: [Int]) -> [Int] {
        var seen = Set(states)
        var stack = states
        while let state = stack.popLast() {
            for target in empty[state] where seen.insert(target).inserted { stack.append(target) }
        }
        return seen.sorted()
    }
}
