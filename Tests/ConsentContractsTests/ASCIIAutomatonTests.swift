import Foundation
import Testing

@testable import ConsentContracts

/// Schema patterns are matched by a deterministic automaton over ASCII where one exists; the
/// backtracking matcher is the reference. Fail closed depends on both saying the same: a
/// string the automaton accepted and the reference refused would cross unvalidated.
@Suite("Schema patterns as automata")
struct ASCIIAutomatonTests {
    /// Every `pattern` in the repository's schemas.
    static func contractPatterns() throws -> [String] {
        let schemas = URL(fileURLWithPath: TestPaths.contracts).appendingPathComponent("schemas")
        var patterns: Set<String> = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let pattern = object["pattern"] as? String { patterns.insert(pattern) }
                object.values.forEach(collect)
            } else if let array = value as? [Any] {
                array.forEach(collect)
            }
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: schemas.path) where file.hasSuffix(".json") {
            collect(try JSONSerialization.jsonObject(with: Data(contentsOf: schemas.appendingPathComponent(file))))
        }
        return patterns.sorted()
    }

    /// Patterns beyond the contracts' own: unanchored, lazy, nested, counted, alternation with
    /// anchors, empty loops.
    static let otherPatterns = [
        "abc", "a|b", "^a|b$", "(a|ab)(c|bcd)(d*)", "^(a+)+$", "x*", "^$", "^(?:ab)*?c$", "[^a-c]{2,4}",
        "^a{2}b{0,3}c$", ".", "^.+$", "^(a*)*$", "\\d{3}-\\w+", "^(/[^/]*)+$", "^([a-z]+\\.)*[a-z]+$",
    ]

    /// Strings made from the characters patterns care about, and from the examples' own values.
    static func candidates(count: Int, seed: UInt64) -> [String] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet = Array("abcdz09AZ-._/@+:\n\r 47nosipv")
        var strings = [
            "", "no.ips.health.referral.v1", "unknown-0123abcd", "/patient/fodselsnummer", "//", "/",
            "case-"
                + String(repeating: "a", count: 32), "12345678901", "+4712345678", "ips-job-specialist",
            "nav.ips.inbound",
            "sha256:" + String(repeating: "f", count: 64), "2026-12-04", "0123abcd-0123-0123-0123-0123456789ab",
        ]
        for _ in 0..<count {
            let length = Int(next() % 40)
            strings.append(String((0..<length).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }))
        }
        return strings
    }

    @Test("Every contract pattern has an automaton, and it agrees with the backtracking matcher")
    func automatonAgreesOnContractPatterns() throws {
        let patterns = try Self.contractPatterns()
        #expect(patterns.count >= 15)
        let strings = Self.candidates(count: 3_000, seed: 7)
        var patternsWithAMatch = 0
        for source in patterns {
            let regex = try SchemaRegex(source)
            let automaton = try #require(ASCIIAutomaton(try Self.alternatives(source)), "no automaton for \(source)")
            var accepted = 0
            for text in strings {
                let expected = regex.searchByBacktracking(text)
                var copy = text
                let decided = copy.withUTF8 { automaton.matches($0) }
                #expect(decided == expected, "\(source) on \(text.debugDescription)")
                if expected { accepted += 1 }
            }
            if accepted > 0 { patternsWithAMatch += 1 }
        }
        // The candidates exercise acceptance, not only refusal.
        #expect(patternsWithAMatch * 2 >= patterns.count)
    }

    @Test(
        "Other shapes (unanchored, nested, lazy, alternation with anchors) agree too; non-ASCII is left to the reference"
    )
    func automatonAgreesOnOtherPatterns() throws {
        let strings = Self.candidates(count: 3_000, seed: 11) + ["aé", "é", "/é/x", "ab\u{2028}c"]
        for source in Self.otherPatterns {
            let regex = try SchemaRegex(source)
            for text in strings {
                // `search` takes the automaton when it can; it must say what the reference says.
                #expect(regex.search(text) == regex.searchByBacktracking(text), "\(source) on \(text.debugDescription)")
            }
        }
        // A non-ASCII byte before the match is decided is not the automaton's to judge.
        let automaton = try #require(ASCIIAutomaton(try Self.alternatives("^[^0-9]+$")))
        var text = "aé"
        #expect(text.withUTF8 { automaton.matches($0) } == nil)
    }

    @Test("Every ASCII byte is judged as the reference judges it, in every contract pattern")
    func everyByteIsClassedAsTheReferenceSeesIt() throws {
        // The automaton groups bytes into classes; a byte put in the wrong class would be
        // accepted where the pattern refuses it. So each byte is tried in each pattern's
        // accepted strings (or any candidates when none is accepted): at the start, the middle,
        // the end, appended, and alone.
        let candidates = Self.candidates(count: 3_000, seed: 5)
        for source in try Self.contractPatterns() + Self.otherPatterns {
            let regex = try SchemaRegex(source)
            // Every contract pattern has an automaton (tested above); of the others, some have none.
            guard let automaton = ASCIIAutomaton(try Self.alternatives(source)) else { continue }
            let accepted = candidates.filter { regex.searchByBacktracking($0) }
            let bases = (accepted.isEmpty ? candidates.filter { $0.utf8.count <= 8 } : accepted).prefix(3)
            for byte in UInt8(0)..<128 {
                var texts = [[byte]]
                for base in bases {
                    let bytes = Array(base.utf8)
                    texts.append(bytes + [byte])
                    for position in Set([0, bytes.count / 2, bytes.count - 1]) where bytes.indices.contains(position) {
                        var changed = bytes
                        changed[position] = byte
                        texts.append(changed)
                    }
                }
                for text in texts {
                    let expected = regex.searchByBacktracking(String(decoding: text, as: UTF8.self))
                    let decided = text.withUnsafeBufferPointer { automaton.matches($0) }
                    #expect(decided == expected, "\(source) on byte \(byte) in \(text)")
                }
            }
        }
    }

    /// The parsed alternatives of `source` (as `SchemaRegex` builds its automaton from them).
    static func alternatives(_ source: String) throws -> [[SchemaRegex.Node]] {
        try SchemaRegex(source).parsedAlternatives
    }
}
