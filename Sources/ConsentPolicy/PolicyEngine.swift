package import ConsentContracts

/// The consent policy: decides, field by field, what of one event may cross the sector boundary.
///
/// `decide` is pure and deterministic: no I/O, no clock, no randomness of its own (the
/// anonymous case reference and `now` are inputs). Pipeline: contract lookup by `ce_type` →
/// envelope checks → strict parse → schema validation → subject lookup → consent checks →
/// per-field actions → output built from allow-listed fields only.
package enum PolicyEngine {
    /// Decides what of `event` may cross.
    ///
    /// - Parameters:
    ///   - event: headers and raw body bytes as consumed.
    ///   - consent: the consent view (looked up by the event's subject).
    ///   - contracts: the prepared contract catalog.
    ///   - now: the decision time (consent validity; age bands when `ce_time` is absent).
    ///   - caseReference: a fresh random reference, evaluated only when the anonymous form is
    ///     sent (drawing from the system generator costs a syscall; most decisions never need one).
    package static func decide(
        event: PolicyEvent, consent: some ConsentLookup, contracts: PolicyCatalog, now: Timestamp,
        caseReference makeCaseReference: @autoclosure () -> CaseReference
    ) -> PolicyDecision {
        // Envelope: every required header once and well formed, the id a UUID (as the
        // contracts' `eventId`), and no personal identifier in the sender's own strings (its id
        // and source reach receipts and operators).
        if event.headers.problem != nil || !CloudEventHeaders.isUUID(event.headers.id ?? "")
            || !isFreeOfPersonalIdentifiers(event.headers.id ?? "")
            || !isFreeOfPersonalIdentifiers(event.headers.source ?? "")
        {
            return .reject(Rejection(reason: .invalidEnvelope))
        }
        // Size before anything reads the body (the payload is then kept out of every notice).
        if event.body.count > JSONParseLimits.default.maxBytes {
            return .reject(Rejection(reason: .tooLarge))
        }
        // Contract.
        guard let ceType = event.headers.type, let plan = contracts.plan(forCEType: ceType) else {
            return .reject(Rejection(reason: .unknownContract))
        }
        let contract = plan.contract
        switch contract.direction {
        case .navInternal:
            return .reject(Rejection(reason: .navInternalNeverCrosses, contractName: contract.name))
        case .consent, .bridge:
            return .reject(Rejection(reason: .notAnEventContract, contractName: contract.name))
        case .healthToNav, .navToHealth:
            break
        }
        guard let firstCopy = plan.copies.first else {
            // A crossing direction without a destination is NAV-internal in effect (R3).
            return .reject(Rejection(reason: .navInternalNeverCrosses, contractName: contract.name))
        }
        if let topic = event.sourceTopic, topic != contract.sourceTopic {
            return .reject(Rejection(reason: .wrongSourceTopic, contractName: contract.name))
        }
        if event.headers.specVersion != "1.0" {
            return .reject(Rejection(reason: .unsupportedSpecVersion, contractName: contract.name))
        }
        if let contentType = event.headers.contentType, !CloudEventHeaders.isJSONContentType(contentType) {
            return .reject(Rejection(reason: .unsupportedContentType, contractName: contract.name))
        }

        // Strict parse and schema.
        let body: JSONValue
        do {
            body = try StrictJSON.parse(event.body)
        } catch {
            return .reject(Rejection(reason: .invalidJSON(error.code), contractName: contract.name))
        }
        if !contract.schema.isValid(body) {
            return .reject(
                Rejection(
                    reason: .schemaViolation, contractName: contract.name, violations: contract.schema.validate(body)))
        }

        // Subject and consent.
        guard let subject = value(at: contract.subjectPath, in: body)?.stringValue, !subject.isEmpty else {
            return .reject(Rejection(reason: .subjectMissing, contractName: contract.name))
        }
        let state = consent.state(for: subject)
        let origin: DataSide = contract.direction == .navToHealth ? .nav : .health

        var basis: RejectReason
        var consentFound: ConsentReference?
        switch evaluate(state, plan: plan, now: now) {
        case .covered(let record):
            if plan.isReferral, !methodSupervisorRequirementMet(body, today: now.norwegianDate) {
                return .reject(
                    Rejection(
                        reason: .sickListedNeedsMethodSupervisor, contractName: contract.name, consent: record.reference
                    ))
            }
            // One copy per role the consent names, each with what the consent covers and the role
            // may receive (R9, R13). A copy left with nothing to carry is not sent; the first
            // such copy's reason stands for the event when no copy is left.
            var copies: [RecipientCopy] = []
            var dropped: (reason: RejectReason, removed: [FieldRemoval])?
            for copy in plan.copies where record.recipientRoles.contains(copy.role) {
                var filter = FieldFilter(
                    mode: .identified(scope: record.categories, receivable: copy.receivable),
                    subjectPlan: plan.subjectPlan)
                let output = filter.filter(body, plan: plan.root) ?? .object(JSONObject())
                let reason: RejectReason
                if filter.contentKept == 0 {
                    reason = .nothingInScope
                } else if !contract.requiredForForwarding.allSatisfy({ value(at: $0, in: output) != nil }) {
                    reason = .requiredFieldNotInConsent
                } else if let pointer = thirdPartyIdentifier(in: output, plan: plan.root, subject: subject) {
                    // R16: the consent is the patient's own; another person's number never crosses,
                    // and free text is not edited behind the clinician's back: the event is refused.
                    return .reject(
                        Rejection(
                            reason: .thirdPartyIdentifier, contractName: contract.name, consent: record.reference,
                            violations: [
                                SchemaViolation(
                                    pointer: pointer, keyword: "x-third-party-identifier",
                                    message: "another person's identifier")
                            ], removed: filter.removed))
                } else {
                    let namesSubject = value(at: contract.subjectPath, in: output)?.stringValue == subject
                    copies.append(
                        RecipientCopy(
                            role: copy.roleName, destinationTopic: copy.destinationTopic, body: output,
                            removed: filter.removed,
                            publishKey: namesSubject ? subject : nil))
                    continue
                }
                if dropped == nil { dropped = (reason, filter.removed) }
            }
            if !copies.isEmpty {
                return .forward(
                    FilteredEvent(
                        contractName: contract.name, ceType: contract.ceType, subject: subject,
                        consent: record.reference, copies: copies))
            }
            basis = dropped?.reason ?? .recipientNotCovered
            consentFound = record.reference
            guard contract.hasAnonymousForm else {
                return .reject(
                    Rejection(
                        reason: basis, contractName: contract.name, consent: record.reference,
                        removed: dropped?.removed ?? []))
            }
        case .notCovered(let reason, let reference):
            basis = reason
            consentFound = reference
            if plan.isReferral,
                reference == nil || [.consentWithdrawn, .consentExpired, .consentNotYetValid].contains(reason)
            {
                // R7: without consent in force there is no referral, and never an anonymous one.
                basis = .referralRequiresConsent
            }
            // R5: after a withdrawal the anonymous path is closed too (`closesAnonymousPath`).
            guard contract.hasAnonymousForm, !plan.isReferral, !Self.closesAnonymousPath(reason) else {
                return .reject(Rejection(reason: basis, contractName: contract.name, consent: reference))
            }
        }

        // Anonymous form (R2).
        let eventTime = event.headers.time.flatMap(Timestamp.init(rfc3339:)) ?? now
        var filter = FieldFilter(mode: .anonymous(eventDate: eventTime.norwegianDate), subjectPlan: plan.subjectPlan)
        guard case .object(let anonymous)? = filter.filter(body, plan: plan.root), filter.contentKept > 0 else {
            return .reject(
                Rejection(
                    reason: .nothingInScope, contractName: contract.name, consent: consentFound, removed: filter.removed
                ))
        }
        guard isFreeOfIdentifiers(.object(anonymous), subject: subject) else {
            return .reject(
                Rejection(
                    reason: .anonymousFormNotSafe, contractName: contract.name, consent: consentFound,
                    removed: filter.removed))
        }
        let caseReference = makeCaseReference()
        var members = anonymous.members
        members.append(JSONObject.Member(key: "caseReference", value: .string(caseReference.rawValue)))
        let output = JSONValue.object(JSONObject(uniqueMembers: members))
        return .forwardAnonymous(
            AnonymousEvent(
                contractName: contract.name, ceType: AnonymousFormSchema.ceType(of: contract.ceType),
                destinationTopic: firstCopy.destinationTopic, body: output,
                caseReference: caseReference,
                mapping: CaseReferenceMapping(subject: subject, caseReference: caseReference, keeper: origin),
                basis: basis, consent: consentFound, removed: filter.removed, generalized: filter.generalized))
    }

    // MARK: Consent

    enum ConsentVerdict {
        case covered(ConsentRecord)
        case notCovered(RejectReason, ConsentReference?)
    }

    /// Whether the consent in `state` covers the contract at `now` (R1, R5, R6, R13): for at
    /// least one of `roles` (default: the contract's; each covered role gets its copy).
    static func evaluate(_ state: ConsentState, plan: ContractPlan, roles: RecipientRoles? = nil, now: Timestamp)
        -> ConsentVerdict
    {
        let record: ConsentRecord
        switch Self.recordInForce(state) {
        case .failure(let missing): return .notCovered(missing.reason, missing.reference)
        case .success(let granted): record = granted
        }
        if now < record.validFrom { return .notCovered(.consentNotYetValid, record.reference) }
        if let until = record.validUntil, now >= until { return .notCovered(.consentExpired, record.reference) }
        if record.purpose != ConsentRecord.ipsPurpose { return .notCovered(.purposeNotCovered, record.reference) }
        if plan.direction.isEmpty || !record.directions.contains(plan.direction) {
            return .notCovered(.directionNotCovered, record.reference)
        }
        if plan.hasUnknownRole || record.recipientRoles.isDisjoint(with: roles ?? plan.roles) {
            return .notCovered(.recipientNotCovered, record.reference)
        }
        return .covered(record)
    }

    /// Why there is no consent record in force in `state` (then the reason and the record
    /// that is not in force, if any), or the record that is (its window and scope still to check).
    private static func recordInForce(_ state: ConsentState) -> Result<ConsentRecord, MissingConsent> {
        switch state {
        case .absent, .tombstoned: .failure(MissingConsent(reason: .noConsent, reference: nil))
        // A consent deleted (a tombstone after a record) is withdrawn: no referral, and the
        // anonymous path closes as after a withdrawal (R5).
        case .tombstonedAfterRecord: .failure(MissingConsent(reason: .consentWithdrawn, reference: nil))
        case .unreadable: .failure(MissingConsent(reason: .consentUnreadable, reference: nil))
        case .withdrawn(let withdrawn):
            .failure(MissingConsent(reason: .consentWithdrawn, reference: withdrawn.reference))
        case .granted(let granted): .success(granted)
        }
    }

    /// Why `recordInForce` found no consent in force.
    private struct MissingConsent: Error {
        var reason: RejectReason
        var reference: ConsentReference?
    }

    /// Whether a consent not covering an event for `reason` also closes the anonymous path
    /// (R2) to it (R5): after a withdrawal (or a consent deleted, a tombstone after a record)
    /// the recipients know who the person is, so an "anonymous" form about them would not
    /// anonymize. So it is after a record that cannot be read: it may be that withdrawal
    /// (fail closed). A consent never given, expired, or narrowed leaves it open.
    static func closesAnonymousPath(_ reason: RejectReason) -> Bool {
        reason == .consentWithdrawn || reason == .consentUnreadable
    }

    /// The relay's re-check before publishing an anonymous copy (R5): the reason to withhold it
    /// when the consent state as it is now closes the anonymous path for the person (the rule
    /// the decision applies, `closesAnonymousPath`), or nil when the copy may still cross. A
    /// person who never had a consent, or whose consent merely does not cover the event,
    /// keeps the anonymous path open (R2).
    package static func recheckAnonymous(_ state: ConsentState) -> RejectReason? {
        guard case .failure(let missing) = recordInForce(state), closesAnonymousPath(missing.reason) else {
            return nil
        }
        return missing.reason
    }

    /// The relay's re-check before publishing one role's copy of an identified disclosure (R5):
    /// the same evaluation as the decision (status, validity window, purpose, direction, and
    /// the copy's own role) against the consent as it is now, plus whether every category that
    /// crossed is still in scope. A consent narrowed from both roles to one thus stops only the
    /// other role's copy. Returns the reason to withhold, or nil when it may still be published.
    package static func recheck(
        _ state: ConsentState, plan: ContractPlan, copy: ContractPlan.CopyPlan, disclosedCategories: ConsentCategories,
        now: Timestamp
    ) -> RejectReason? {
        switch evaluate(state, plan: plan, roles: copy.role, now: now) {
        case .notCovered(let reason, _):
            return reason
        case .covered(let record):
            return record.categories.isSuperset(of: disclosedCategories) ? nil : .categoryNarrowed
        }
    }

    // MARK: Contract-specific rules

    /// R12: a sick-listed person's referral needs the method supervisor's supporting
    /// assessment, recorded with it and dated on or before the referral (and not in the future).
    static func methodSupervisorRequirementMet(_ body: JSONValue, today: CivilDate) -> Bool {
        guard case .bool(let sickListed)? = value(at: ["referral", "sickListed"], in: body) else {
            return false  // the schema requires it; absent = cannot tell = fail closed
        }
        guard sickListed else { return true }
        guard
            value(at: ["referral", "methodSupervisorAssessment", "outcome"], in: body)?.stringValue
                == "referral-supported",
            let assessed = value(at: ["referral", "methodSupervisorAssessment", "assessedOn"], in: body)?.stringValue
                .flatMap(CivilDate.init(iso:)),
            let referred = value(at: ["referral", "referredOn"], in: body)?.stringValue.flatMap(CivilDate.init(iso:))
        else { return false }
        return assessed <= referred && assessed <= today
    }

    /// R16: the pointer of the first string in `output` that holds a fødselsnummer or D-number
    /// other than the subject's, or (in free text or any other unconstrained string) a phone
    /// number or e-mail address; nil when there is none. Synthetic numbers count too (fail closed).
    static func thirdPartyIdentifier(in output: JSONValue, plan: FieldPlan?, subject: String) -> String? {
        switch output {
        case .string(let text):
            // Phone numbers and addresses are looked for wherever a person can type them: a
            // free-text field, and any string the contract does not constrain (no enum, const,
            // pattern or format), whatever its classification ("jobGoal, in the patient's words").
            // A constrained field holds what its constraint allows (the patient's own consented
            // `+47…` phone, an organisation number), not a third party's contact details.
            // (Optional chaining, not `plan.map { … }`: the closure retained the plan for every
            // string of every event, 2% of a decision.)
            let isTyped = plan?.classification == .freeText || plan?.acceptsAnyText ?? true
            guard mayHoldIdentifier(text, minimumDigits: isTyped ? 8 : 11, orAddress: isTyped) else { return nil }
            for finding in PersonalDataScanner.findings(in: text, allowSynthetic: true, windows: true) {
                switch finding.kind {
                case .nationalIdentityNumber:
                    if !isSubjectsNumber(text[finding.range], subject: subject) { return "" }
                default:
                    if isTyped { return "" }
                }
            }
            return nil
        // The pointer is built on the way back, along the one path that found something: not
        // for every member visited (that string building was most of this scan's cost).
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = thirdPartyIdentifier(in: item, plan: plan?.items ?? plan, subject: subject) {
                    return "/\(index)" + found
                }
            }
            return nil
        case .object(let object):
            for member in object {
                if let found = thirdPartyIdentifier(in: member.value, plan: plan?.child(member.key), subject: subject) {
                    return "/" + member.key + found
                }
            }
            return nil
        default:
            return nil
        }
    }

    // MARK: Helpers

    /// Whether the digits of `found` (a fødselsnummer the scanner found, perhaps split by
    /// separators) are the subject's. Compared byte by byte when `found` is ASCII, as most are:
    /// the subject's own number is in most events, and filtering `Character`s for it, then
    /// building a string, was a fifth of this scan's time. Anything else is read scalar by
    /// scalar: a decimal digit in any script counts as its value (the scanner reads it so), any
    /// other numeric character makes the number someone else's (fail closed).
    static func isSubjectsNumber(_ found: Substring, subject: String) -> Bool {
        let ascii: Bool? = found.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 }
        }
        guard ascii == true else {
            var expected = subject.utf8.makeIterator()
            for scalar in found.unicodeScalars {
                let properties = scalar.properties
                guard let value = properties.numericValue else { continue }
                guard properties.numericType == .decimal, value >= 0, value <= 9,
                    expected.next() == UInt8(ascii: "0") + UInt8(value)
                else { return false }
            }
            return expected.next() == nil
        }
        var digits = found.utf8.lazy.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.makeIterator()
        for expected in subject.utf8 {
            guard digits.next() == expected else { return false }
        }
        return digits.next() == nil
    }

    /// Defence in depth for the anonymous form (R2): no string may contain the subject, a valid
    /// fødselsnummer/D-number (synthetic ones included) or an e-mail address. Phone-shaped digit
    /// groups are not checked here: schema patterns already keep digits out of free operational
    /// strings, and ids (UUIDs, organisation numbers) would read as phone numbers.
    static func isFreeOfIdentifiers(_ value: JSONValue, subject: String) -> Bool {
        switch value {
        case .string(let text):
            // The subject and a fødselsnummer are 11 digits in a row, an address needs an @.
            guard mayHoldIdentifier(text, minimumDigits: 11, orAddress: true) else { return true }
            if containsBytes(text, subject) { return false }
            return !PersonalDataScanner.findings(in: text, allowSynthetic: true, windows: true).contains {
                $0.kind == .nationalIdentityNumber || $0.kind == .emailAddress
            }
        case .array(let items):
            return items.allSatisfy { isFreeOfIdentifiers($0, subject: subject) }
        case .object(let object):
            return object.allSatisfy {
                isFreeOfIdentifiers(.string($0.key), subject: subject)
                    && isFreeOfIdentifiers($0.value, subject: subject)
            }
        default:
            return true
        }
    }

    /// A cheap pass before the scanner (which allocates): whether `text` has at least
    /// `minimumDigits` digits joined only by separators (as the scanner reads "DDMMYY IIIKK",
    /// "91.23.45.67" or fullwidth digits), or an `@` when `orAddress`. Most strings have neither.
    static func mayHoldIdentifier(_ text: String, minimumDigits: Int, orAddress: Bool) -> Bool {
        PersonalDataScanner.mayHold(text, minimumDigits: minimumDigits, orAddress: orAddress)
    }

    /// Whether `text` is free of fødselsnummer/D-numbers (synthetic ones included), read as a
    /// person reads them: a group of eleven digits (separators and other scripts allowed), not
    /// any eleven-digit window of a longer number. A sender's `ce_source` may hold a long number
    /// (a snowflake or timestamp of 16–19 digits has 6–9 windows, and a random window passes the
    /// date and check-digit tests about once in 560): windows would reject 1–1.6% of such a
    /// sender's events. (`ce_id` is a UUID, whose last group is twelve hex digits.) The trace check
    /// (`BridgeRecordBuilder.holdsNationalIdentifier`) looks at every window, since what it
    /// costs there is a trace, never an event.
    static func isFreeOfPersonalIdentifiers(_ text: String) -> Bool {
        guard mayHoldIdentifier(text, minimumDigits: 11, orAddress: false) else { return true }
        return !PersonalDataScanner.findings(in: text, allowSynthetic: true).contains {
            $0.kind == .nationalIdentityNumber
        }
    }

    /// The value at property path `path` (objects only), or nil.
    package static func value(at path: [String], in root: JSONValue) -> JSONValue? {
        var current = root
        for token in path {
            guard case .object(let object) = current, let next = object[token] else { return nil }
            current = next
        }
        return current
    }

    /// Whether `text` contains `needle` as bytes (no Foundation, no Unicode normalisation:
    /// identifiers are ASCII digits).
    static func containsBytes(_ text: String, _ needle: String) -> Bool {
        let haystack = text.utf8
        let pattern = needle.utf8
        guard let first = pattern.first, haystack.count >= pattern.count else { return pattern.isEmpty }
        var index = haystack.startIndex
        let lastStart = haystack.index(haystack.endIndex, offsetBy: -pattern.count)
        while index <= lastStart {
            if haystack[index] == first, haystack[index...].starts(with: pattern) { return true }
            index = haystack.index(after: index)
        }
        return false
    }
}
