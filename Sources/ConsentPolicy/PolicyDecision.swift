package import ConsentContracts

/// What the policy decided for one event.
///
/// Every case carries the provenance the bridge records (contract, consent used, fields removed
/// and why). `description` never contains values from the body.
package enum PolicyDecision: Sendable {
    /// Forward the filtered, identified event (consent covers it).
    case forward(FilteredEvent)
    /// Forward only the anonymous form (no valid consent, contract has one; R2).
    case forwardAnonymous(AnonymousEvent)
    /// Forward nothing.
    case reject(Rejection)

    /// The stable outcome code for receipts: `accepted`, `anonymized` or the reject code.
    package var code: String {
        switch self {
        case .forward: "accepted"
        case .forwardAnonymous: "anonymized"
        case .reject(let rejection): rejection.reason.code
        }
    }

    /// Fields left out of the output (empty for rejections before filtering).
    package var removed: [FieldRemoval] {
        switch self {
        case .forward(let event): event.removed
        case .forwardAnonymous(let event): event.removed
        case .reject(let rejection): rejection.removed
        }
    }

    /// The consent the decision relied on or refused on, if there was one.
    package var consentUsed: ConsentReference? {
        switch self {
        case .forward(let event): event.consent
        case .forwardAnonymous(let event): event.consent
        case .reject(let rejection): rejection.consent
        }
    }

    /// The reject reason, if rejected.
    package var rejectReason: RejectReason? {
        if case .reject(let rejection) = self { return rejection.reason }
        return nil
    }
}

extension PolicyDecision: CustomStringConvertible {
    package var description: String {
        switch self {
        case .forward(let event): "forward \(event.contractName) removed=\(event.removed.map(\.path))"
        case .forwardAnonymous(let event): "forwardAnonymous \(event.contractName) basis=\(event.basis.code)"
        case .reject(let rejection): "reject \(rejection.reason.code)"
        }
    }
}

/// An identified event filtered to what the consent covers: one copy per recipient role the
/// consent names, each for that role's own system (R9, R13).
package struct FilteredEvent: Sendable {
    /// Contract name, e.g. `referral`.
    package var contractName: String
    /// CloudEvents type to publish with (the contract's).
    package var ceType: String
    /// The person the event concerns (fødselsnummer): for keying and the disclosure row only.
    package var subject: String
    /// The consent relied on.
    package var consent: ConsentReference
    /// The copies, in the contract's role order; never empty.
    package var copies: [RecipientCopy]

    /// What was left out of any copy and why (each path and cause once, first copy first).
    package var removed: [FieldRemoval] {
        var seen = Set<FieldRemoval>()
        return copies.flatMap(\.removed).filter { seen.insert($0).inserted }
    }
}

/// What crosses to one recipient role's system.
package struct RecipientCopy: Sendable {
    /// The role (`ips-job-specialist`, `nav-veileder`): the receiving role for health→NAV, the
    /// sending role for NAV→health.
    package var role: String
    /// Where the bridge publishes it: that role's system (or the journal, NAV→health).
    package var destinationTopic: String
    /// The output, built from allow-listed fields only: what the consent covers and the role
    /// may receive.
    package var body: JSONValue
    /// `body` serialized compactly (what goes on the wire). Made on request: the bridge
    /// serializes the copy it publishes, with its own event id, itself.
    package var bytes: [UInt8] { body.serializedBytes() }
    /// What was left out and why.
    package var removed: [FieldRemoval]
    /// The Kafka key to publish under: the fødselsnummer only when the output itself carries it
    /// (consent covers identity); otherwise nil and the relay keys by `ce_id` (an inbound key
    /// is never a raw fødselsnummer unless the consent covers identity).
    package var publishKey: String?

    /// Whether the output still names the person (identity was in the consent's scope).
    package var namesSubject: Bool { publishKey != nil }
}

/// The anonymous form of an event, plus the mapping only the origin side may store.
package struct AnonymousEvent: Sendable {
    /// Contract name.
    package var contractName: String
    /// CloudEvents type to publish with (the contract's; the body carries `caseReference`).
    package var ceType: String
    /// Where the bridge publishes it.
    package var destinationTopic: String
    /// The generalized output, built from allow-listed fields only, with `caseReference`.
    package var body: JSONValue
    /// `body` serialized compactly, made on request (as `RecipientCopy.bytes`).
    package var bytes: [UInt8] { body.serializedBytes() }
    /// The reference that stands for the person in `body`.
    package var caseReference: CaseReference
    /// Subject → case reference, for the origin side's store only (never published).
    package var mapping: CaseReferenceMapping
    /// Why the identified form was not allowed (e.g. `no-consent`).
    package var basis: RejectReason
    /// The consent that was found but did not cover the event, if any.
    package var consent: ConsentReference?
    /// What was left out and why.
    package var removed: [FieldRemoval]
    /// What was generalized and how.
    package var generalized: [FieldGeneralization]

    /// The Kafka key to publish under: the case reference, never the person's number.
    package var publishKey: String { caseReference.rawValue }
}

/// Links a case reference to the person, kept by the side that sent the original event.
package struct CaseReferenceMapping: Sendable, Hashable {
    /// The person's fødselsnummer.
    package var subject: String
    /// The reference published instead.
    package var caseReference: CaseReference
    /// The side that may store this mapping (the event's origin).
    package var keeper: DataSide
}

extension CaseReferenceMapping: CustomStringConvertible {
    /// The reference and keeper only.
    package var description: String { "\(caseReference) kept by \(keeper.rawValue)" }
}

/// A refusal with its reason and metadata (no values).
package struct Rejection: Sendable, CustomStringConvertible {
    /// The reason.
    package var reason: RejectReason
    /// The contract, when the type was known.
    package var contractName: String?
    /// The consent found, if any.
    package var consent: ConsentReference?
    /// Schema violations (pointers with property names from the contract only, and keywords).
    package var violations: [SchemaViolation]
    /// Fields that had been filtered before the refusal.
    package var removed: [FieldRemoval]

    /// A rejection.
    package init(
        reason: RejectReason, contractName: String? = nil, consent: ConsentReference? = nil,
        violations: [SchemaViolation] = [], removed: [FieldRemoval] = []
    ) {
        self.reason = reason
        self.contractName = contractName
        self.consent = consent
        self.violations = violations
        self.removed = removed
    }

    package var description: String { "reject \(reason.code)" }
}
