import ConsentContracts
import ConsentPolicy
import PropertyBased
import Testing

/// Property tests over generated events (mutated valid examples with fresh synthetic
/// fødselsnumre, dropped optional fields, identifiers planted in free text) and generated
/// consents (any category/role/direction subset, withdrawn, expired, tombstoned, absent).
@Suite struct PolicyPropertyTests {
    typealias F = PolicyFixtures

    /// Every valid example of every event contract.
    static let examples: [(contract: String, name: String)] = ContractExamplesTests.contracts
        .filter { $0 != "consent" }
        .flatMap { contract in ((try? F.exampleNames(contract, kind: "valid")) ?? []).map { (contract, $0) } }

    /// One generated case: an event and the consent view it is decided against.
    struct Case: Sendable, CustomStringConvertible {
        var contract: String
        var event: PolicyEvent
        var view: ConsentView
        var subject: String
        var categories: ConsentCategories?
        var description: String { "\(contract) consent=\(view.state(for: subject))" }
    }

    static let cases = zip(
        Gen.int(in: 0...(examples.count - 1)), Gen<UInt8>.value(in: 0...31), Gen<UInt8>.value(in: 0...3),
        Gen<UInt8>.value(in: 0...3), Gen.int(in: 0...5), Gen<UInt64>.value(in: 0...UInt64.max)
    ).map { example, categories, roles, directions, consentKind, seed in
        makeCase(
            example: example, categories: categories, roles: roles, directions: directions, consentKind: consentKind,
            seed: seed)
    }

    /// A UUID (the only `ce_id` the policy lets cross) that differs by `seed`.
    static func eventID(_ seed: UInt64) -> String {
        let hex = String(seed, radix: 16)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: max(0, 12 - hex.count)) + hex.suffix(12)
    }

    static func makeCase(
        example: Int, categories: UInt8, roles: UInt8, directions: UInt8, consentKind: Int, seed: UInt64
    ) -> Case? {
        guard let catalog = try? F.catalog(),
            let (contract, name) = examples.indices.contains(example) ? examples[example] : nil,
            let plan = catalog.plan(named: contract), var body = try? F.exampleValue(contract, name)
        else { return nil }
        var rng = SeededRandom(seed: seed)
        let subject = SyntheticFodselsnummer.make(using: &rng)
        let other = SyntheticFodselsnummer.make(using: &rng)
        body = Mutation.replaceSubject(body, path: plan.contract.subjectPath, with: subject)
        body = Mutation.plantIdentifiers(
            body, plan: plan.root, texts: ["Ringte \(subject) i dag", "Se også \(other)", "\(subject)"], rng: &rng)
        for _ in 0..<3 {
            let candidate = Mutation.dropRandomMember(body, rng: &rng)
            if plan.contract.schema.isValid(candidate) { body = candidate }
        }
        var view = ConsentView()
        var scope: ConsentCategories?
        let record = F.consent(
            subject, version: 1, categories: ConsentCategories(rawValue: categories),
            roles: RecipientRoles(rawValue: roles),
            directions: ConsentDirections(rawValue: directions))
        switch consentKind {
        case 0: break
        case 1, 2, 3:
            view.apply(record)
            scope = record.categories
        case 4: view.apply(F.consent(subject, version: 2, status: .withdrawn, categories: []))
        default:
            view.apply(F.consent(subject, validUntil: "2026-05-01T00:00:00Z"))
        }
        let event = PolicyEvent(
            headers: CloudEventHeaders(
                id: Self.eventID(seed), type: plan.contract.ceType, time: "2026-10-15T09:00:00Z"),
            body: body.serializedBytes(), sourceTopic: plan.contract.sourceTopic)
        return Case(contract: contract, event: event, view: view, subject: subject, categories: scope)
    }

    @Test func noFieldOutsideTheConsentEverAppearsInTheOutput() async throws {
        let catalog = try F.catalog()
        await propertyCheck(count: 300, input: Self.cases) { generated in
            guard let generated else {
                Issue.record("case generation failed")
                return
            }
            let plan = try #require(catalog.plan(named: generated.contract))
            let decision = try F.decide(generated.event, generated.view)
            guard case .forward(let event) = decision else { return }
            let scope = try #require(generated.categories, "forwarded without a granted consent")
            for path in F.paths(in: event.copies[0].body) {
                let field = try #require(Self.plan(at: path, in: plan.root), "undeclared \(path)")
                #expect(field.classification != .navInternal, "\(path)")
                if field.classification != .operational {
                    #expect(!field.category.isEmpty && scope.contains(field.category), "\(path) outside consent")
                }
            }
        }
    }

    @Test func anonymousOutputHoldsNoDirectIdentifierAndNoFodselsnummer() async throws {
        let catalog = try F.catalog()
        await propertyCheck(count: 300, input: Self.cases) { generated in
            guard let generated else {
                Issue.record("case generation failed")
                return
            }
            let plan = try #require(catalog.plan(named: generated.contract))
            let decision = try F.decide(generated.event, generated.view)
            guard case .forwardAnonymous(let event) = decision else { return }
            for path in F.paths(in: event.body) where path != "/caseReference" {
                let field = try #require(Self.plan(at: path, in: plan.root), "undeclared \(path)")
                #expect(
                    ![.directIdentifier, .healthConfidential, .freeText, .navInternal].contains(field.classification),
                    "\(path)")
            }
            let text = String(decoding: event.bytes, as: UTF8.self)
            #expect(!text.contains(generated.subject))
            for string in F.allStrings(in: event.body) {
                let numbers = PersonalDataScanner.findings(in: string, allowSynthetic: true).filter {
                    $0.kind == .nationalIdentityNumber
                }
                #expect(numbers.isEmpty, "a fødselsnummer in the anonymous form")
                for window in Self.elevenDigitWindows(string) {
                    #expect(!NorwegianIdentifier.isValid(window, allowSynthetic: true))
                }
            }
        }
    }

    @Test func decideIsDeterministic() async throws {
        await propertyCheck(count: 200, input: Self.cases) { generated in
            guard let generated else {
                Issue.record("case generation failed")
                return
            }
            let first = try F.decide(generated.event, generated.view)
            let second = try F.decide(generated.event, generated.view)
            #expect(first.code == second.code)
            #expect(first.removed == second.removed)
            #expect(first.forwardedBody == second.forwardedBody)
        }
    }

    @Test func filteringAFilteredEventChangesNothing() async throws {
        await propertyCheck(count: 300, input: Self.cases) { generated in
            guard let generated else {
                Issue.record("case generation failed")
                return
            }
            guard case .forward(let first) = try F.decide(generated.event, generated.view) else { return }
            var again = generated.event
            again.body = first.copies[0].bytes
            guard case .forward(let second) = try F.decide(again, generated.view) else {
                Issue.record("the filtered event was not forwarded again")
                return
            }
            // Per role: the first role's copy, filtered again for that role, is unchanged (the
            // other roles' copies of it may carry less: R13).
            #expect(second.copies[0].role == first.copies[0].role)
            #expect(second.copies[0].bytes == first.copies[0].bytes)
            #expect(second.copies[0].removed.isEmpty)
        }
    }

    /// The generated cases are not vacuous: they reach every outcome and every contract.
    @Test func generatedCasesCoverForwardAnonymousAndReject() throws {
        var codes: [String: Int] = [:]
        var contracts: Set<String> = []
        var rng = SeededRandom(seed: 42)
        for seed in 0..<800 {
            let generated = try #require(
                Self.makeCase(
                    example: seed % Self.examples.count, categories: UInt8(rng.next() % 32),
                    roles: UInt8(rng.next() % 4),
                    directions: UInt8(rng.next() % 4), consentKind: Int(rng.next() % 6), seed: UInt64(seed)))
            let decision = try F.decide(generated.event, generated.view)
            codes[decision.code, default: 0] += 1
            if decision.forwardedBody != nil { contracts.insert(generated.contract) }
        }
        #expect(codes["accepted", default: 0] > 20)
        #expect(codes["anonymized", default: 0] > 20)
        #expect(codes["no-consent", default: 0] > 20)
        #expect(codes["nav-internal-never-crosses", default: 0] > 0)
        #expect(contracts.count >= 8, "\(contracts.sorted())")
    }

    // MARK: Helpers

    static func plan(at path: String, in root: FieldPlan) -> FieldPlan? {
        var current: FieldPlan? = root
        for token in path.split(separator: "/") {
            current = token == "[]" ? (current?.items ?? current) : current?.children[String(token)]
        }
        return current
    }

    static func elevenDigitWindows(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        guard bytes.count >= 11 else { return [] }
        return (0...(bytes.count - 11)).compactMap { start in
            let window = bytes[start..<(start + 11)]
            return window.allSatisfy { $0 &- 48 < 10 } ? String(decoding: window, as: UTF8.self) : nil
        }
    }
}

/// Synthetic fødselsnumre (Skatteetaten form: month + 80) with valid mod-11 check digits.
enum SyntheticFodselsnummer {
    static func make(using rng: inout some RandomNumberGenerator) -> String {
        while true {
            let year = Int.random(in: 1940...2008, using: &rng)
            let month = Int.random(in: 1...12, using: &rng)
            let day = Int.random(in: 1...28, using: &rng)
            let individual =
                year >= 2000 ? Int.random(in: 500...999, using: &rng) : Int.random(in: 0...499, using: &rng)
            let digits = [
                day / 10, day % 10, (month + 80) / 10, (month + 80) % 10, year % 100 / 10, year % 10,
                individual / 100, individual / 10 % 10, individual % 10,
            ]
            guard let k1 = check(digits, weights: [3, 7, 6, 1, 8, 9, 4, 5, 2]),
                let k2 = check(digits + [k1], weights: [5, 4, 3, 2, 7, 6, 5, 4, 3, 2])
            else { continue }
            return (digits + [k1, k2]).map(String.init).joined()
        }
    }

    private static func check(_ digits: [Int], weights: [Int]) -> Int? {
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        let digit = (11 - sum % 11) % 11
        return digit == 10 ? nil : digit
    }
}

/// Structural edits on example bodies.
enum Mutation {
    static func replaceSubject(_ value: JSONValue, path: [String], with subject: String) -> JSONValue {
        guard let head = path.first, case .object(var object) = value, let child = object[head] else { return value }
        object[head] =
            path.count == 1 ? .string(subject) : replaceSubject(child, path: Array(path.dropFirst()), with: subject)
        return .object(object)
    }

    /// Puts identifier-bearing text into every free-text field present.
    static func plantIdentifiers(_ value: JSONValue, plan: FieldPlan, texts: [String], rng: inout SeededRandom)
        -> JSONValue
    {
        switch value {
        case .object(let object):
            var members: [JSONObject.Member] = []
            for member in object {
                guard let child = plan.children[member.key] else {
                    members.append(member)
                    continue
                }
                if child.classification == .freeText, case .string = member.value {
                    members.append(.init(key: member.key, value: .string(texts[Int(rng.next() % UInt64(texts.count))])))
                } else {
                    members.append(
                        .init(
                            key: member.key, value: plantIdentifiers(member.value, plan: child, texts: texts, rng: &rng)
                        ))
                }
            }
            return .object(JSONObject(uniqueMembers: members))
        default:
            return value
        }
    }

    /// Removes one member somewhere in the tree (the caller keeps it only if still schema-valid).
    static func dropRandomMember(_ value: JSONValue, rng: inout SeededRandom) -> JSONValue {
        guard case .object(var object) = value, object.count > 0 else { return value }
        let index = Int(rng.next() % UInt64(object.count))
        let key = object.members[index].key
        if rng.next() % 2 == 0, case .object = object.members[index].value {
            object[key] = dropRandomMember(object.members[index].value, rng: &rng)
        } else {
            object[key] = nil
        }
        return .object(object)
    }
}
