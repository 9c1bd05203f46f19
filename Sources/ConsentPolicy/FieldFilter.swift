import ConsentContracts

/// Builds an output body from the allow-listed fields of a validated input, walking the
/// contract's field tree. Nothing is ever deleted from the input: each output object is a new
/// object holding only the members the plan allows, so an undeclared field can never slip
/// through.
///
/// Two modes: identified (consent scope decides) and anonymous (classification and
/// `x-anonymize` decide, R2).
struct FieldFilter {
    enum Mode {
        /// What the consent covers, and what the recipient's role may receive at all (R13).
        case identified(scope: ConsentCategories, receivable: ConsentCategories = .all)
        case anonymous(eventDate: CivilDate)
    }

    let mode: Mode
    /// The subject field's plan: kept or not, it is identification, not content.
    let subjectPlan: FieldPlan?
    private(set) var removed: [FieldRemoval] = []
    private(set) var generalized: [FieldGeneralization] = []
    /// Number of kept leaves that carry information beyond routing and identification.
    private(set) var contentKept = 0
    /// Number of removals and generalizations so far (a change below a container).
    private var edits = 0

    init(mode: Mode, subjectPlan: FieldPlan?) {
        self.mode = mode
        self.subjectPlan = subjectPlan
    }

    /// The filtered value, or nil when nothing of it may cross.
    ///
    /// Every member is checked against the plan. When every member of a container passed
    /// unchanged, the container is returned as it came (an identical allow-listed copy would be
    /// built from exactly the same members); otherwise a new container holds only the kept ones.
    mutating func filter(_ value: JSONValue, plan: FieldPlan) -> JSONValue? {
        switch value {
        case .object(let object):
            var rebuilt: [JSONObject.Member]?
            var position = 0
            for member in object {
                let editsBefore = edits
                let kept: JSONValue?
                if let child = plan.child(member.key) {
                    kept = admit(member.value, plan: child)
                } else {
                    // Unreachable after schema validation (additionalProperties: false); fail closed.
                    note(
                        FieldRemoval(
                            path: plan.pointer + "/*", classification: nil, consentCategory: nil, cause: .undeclared))
                    kept = nil
                }
                if edits != editsBefore, rebuilt == nil {
                    rebuilt = Array(object.members[0..<position])
                    rebuilt?.reserveCapacity(object.count)
                }
                if rebuilt != nil, let kept { rebuilt?.append(JSONObject.Member(key: member.key, value: kept)) }
                position += 1
            }
            guard let rebuilt else { return value }
            if rebuilt.isEmpty, object.count > 0 { return nil }
            return .object(JSONObject(uniqueMembers: rebuilt))
        case .array(let elements):
            let itemPlan = plan.items ?? plan
            var rebuilt: [JSONValue]?
            for (position, element) in elements.enumerated() {
                let editsBefore = edits
                let kept =
                    plan.items == nil
                    ? leaf(element, plan: plan, countAsContent: false) : admit(element, plan: itemPlan)
                if edits != editsBefore, rebuilt == nil {
                    rebuilt = Array(elements[0..<position])
                }
                if rebuilt != nil, let kept { rebuilt?.append(kept) }
            }
            let result = rebuilt ?? elements
            if result.isEmpty, !elements.isEmpty { return nil }
            if plan.items == nil, !result.isEmpty, plan.classification != .operational { contentKept += 1 }
            return rebuilt.map(JSONValue.array) ?? value
        default:
            return leaf(value, plan: plan, countAsContent: true)
        }
    }

    /// Applies `plan`'s own verdict to `value`, then recurses into containers.
    private mutating func admit(_ value: JSONValue, plan: FieldPlan) -> JSONValue? {
        switch verdict(plan) {
        case .drop(let cause):
            note(
                FieldRemoval(
                    path: plan.pointer, classification: plan.classification, consentCategory: plan.categoryName,
                    cause: cause))
            return nil
        case .keep, .generalize:
            switch value {
            case .object, .array:
                return filter(value, plan: plan)
            default:
                return leaf(value, plan: plan, countAsContent: true)
            }
        }
    }

    /// A scalar under `plan` (whose verdict allows it, or an array item of such a field).
    private mutating func leaf(_ value: JSONValue, plan: FieldPlan, countAsContent: Bool) -> JSONValue? {
        switch verdict(plan) {
        case .drop(let cause):
            note(
                FieldRemoval(
                    path: plan.pointer, classification: plan.classification, consentCategory: plan.categoryName,
                    cause: cause))
            return nil
        case .keep:
            if countAsContent, plan.classification != .operational, plan !== subjectPlan { contentKept += 1 }
            return value
        case .generalize(let rule, let eventDate):
            guard case .string(let text) = value, let general = rule.apply(to: text, eventDate: eventDate) else {
                note(
                    FieldRemoval(
                        path: plan.pointer, classification: plan.classification, consentCategory: plan.categoryName,
                        cause: .notGeneralizable))
                return nil
            }
            edits += 1
            if !generalized.contains(where: { $0.path == plan.pointer }) {
                generalized.append(FieldGeneralization(path: plan.pointer, rule: rule))
            }
            if countAsContent { contentKept += 1 }
            return .string(general)
        }
    }

    private enum Verdict {
        case keep
        case generalize(Generalization, CivilDate)
        case drop(FieldRemoval.Cause)
    }

    private func verdict(_ plan: FieldPlan) -> Verdict {
        switch mode {
        case .identified(let scope, let receivable):
            switch plan.classification {
            case .navInternal: return .drop(.navInternal)
            case .operational: return .keep
            default:
                if plan.category.isEmpty { return .drop(.notConsentGoverned) }
                if !scope.contains(plan.category) { return .drop(.categoryNotInConsent) }
                return receivable.contains(plan.category) ? .keep : .drop(.notForRecipientRole)
            }
        case .anonymous(let eventDate):
            switch plan.classification {
            case .operational: return plan.generalization == .drop ? .drop(.anonymousForm) : .keep
            case .workRelated: return plan.generalization == .keep ? .keep : .drop(.anonymousForm)
            case .quasiIdentifier:
                guard let rule = plan.generalization, rule != .keep, rule != .drop else { return .drop(.anonymousForm) }
                return .generalize(rule, eventDate)
            case .navInternal: return .drop(.navInternal)
            case .directIdentifier, .healthConfidential, .freeText: return .drop(.anonymousForm)
            }
        }
    }

    private mutating func note(_ removal: FieldRemoval) {
        edits += 1
        if !removed.contains(removal) { removed.append(removal) }
    }
}
