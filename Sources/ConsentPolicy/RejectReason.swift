package import ConsentContracts

/// Why the policy refused an event: a stable code, the docs/rules.md rule it enforces, and a human
/// text in English and Norwegian bokmål for the sender's receipt ("not sent: no consent").
///
/// Texts are constants: they never contain values from the event or the consent.
package struct RejectReason: Sendable, Hashable, CustomStringConvertible {
    /// Stable machine-readable code, e.g. `no-consent`, `invalid-json.duplicate-key`.
    package let code: String
    /// The docs/rules.md rule behind the refusal, if one rule is (e.g. `R3`); nil for fail-closed checks.
    package let rule: String?
    /// English text.
    package let english: String
    /// Norwegian bokmål text.
    package let norwegian: String

    private init(_ code: String, _ rule: String?, _ english: String, _ norwegian: String) {
        self.code = code
        self.rule = rule
        self.english = english
        self.norwegian = norwegian
    }

    package var description: String { code }

    // MARK: Envelope and contract

    /// `ce_type` names no known contract (fail closed).
    package static let unknownContract = RejectReason(
        "unknown-contract", nil, "The message type is not a known contract.", "Meldingstypen er ikke en kjent kontrakt."
    )
    /// The contract is not a message that crosses (consent records, bridge output).
    package static let notAnEventContract = RejectReason(
        "not-an-event-contract", nil, "This contract is not a message the bridge forwards.",
        "Denne kontrakten er ikke en melding broen videresender.")
    /// A required CloudEvents header is missing, repeated, not UTF-8 or malformed (or carries a
    /// personal identifier), so the bridge cannot tell what the message is.
    package static let invalidEnvelope = RejectReason(
        "invalid-envelope", nil,
        "The message's CloudEvents headers (ce_id, ce_type, ce_source, ce_time, ce_specversion, content-type) must each be present once and well formed; ce_id is a UUID (the event's eventId).",
        "Meldingens CloudEvents-hoder (ce_id, ce_type, ce_source, ce_time, ce_specversion, content-type) må finnes én gang hver og være gyldige; ce_id er en UUID (hendelsens eventId)."
    )
    /// The body is larger than the contracts allow (256 KiB); it is not opened, and not kept.
    package static let tooLarge = RejectReason(
        "too-large", nil, "The message is larger than the contracts allow (256 KiB).",
        "Meldingen er større enn kontraktene tillater (256 KiB).")
    /// A record the bridge built failed its own published contract (a defect: nothing crossed).
    package static let outputContractViolation = RejectReason(
        "output-contract-violation", nil,
        "The bridge could not build a message that satisfies its published contract, so nothing was sent.",
        "Broen kunne ikke lage en melding som oppfyller den publiserte kontrakten, så ingenting ble sendt.")
    /// `ce_specversion` is not 1.0.
    package static let unsupportedSpecVersion = RejectReason(
        "unsupported-specversion", nil, "Only CloudEvents 1.0 is accepted.", "Bare CloudEvents 1.0 godtas.")
    /// `content-type` is not JSON.
    package static let unsupportedContentType = RejectReason(
        "unsupported-content-type", nil, "The message body must be JSON.", "Meldingsinnholdet må være JSON.")
    /// The message arrived on a topic its contract does not publish on (spoofed direction).
    package static let wrongSourceTopic = RejectReason(
        "wrong-source-topic", nil, "The message arrived on a topic its contract does not use.",
        "Meldingen kom på et emne kontrakten ikke bruker.")
    /// NAV-internal documentation never crosses to health (R3).
    package static let navInternalNeverCrosses = RejectReason(
        "nav-internal-never-crosses", "R3",
        "NAV's work-oriented follow-up documentation is never sent to the health service or a patient journal.",
        "NAVs arbeidsrettede oppfølgingsdokumentasjon sendes aldri til helsetjenesten eller en pasientjournal.")
    /// The body failed the strict parser; the code carries the parser's reason.
    package static func invalidJSON(_ parseCode: JSONParseError.Code) -> RejectReason {
        var suffix = Substring(parseCode.rawValue)
        if suffix.hasPrefix("json.") { suffix = suffix.dropFirst(5) }
        return RejectReason(
            "invalid-json.\(suffix)", nil, "The message body is not valid strict JSON.",
            "Meldingsinnholdet er ikke gyldig streng JSON.")
    }
    /// The body does not satisfy the contract's schema (unknown fields included).
    package static let schemaViolation = RejectReason(
        "schema-violation", nil, "The message does not match its contract.", "Meldingen samsvarer ikke med kontrakten.")
    /// The field naming the person is missing.
    package static let subjectMissing = RejectReason(
        "subject-missing", nil, "The message does not name the person it concerns.",
        "Meldingen angir ikke hvilken person den gjelder.")

    // MARK: Consent

    /// No consent is recorded (R1).
    package static let noConsent = RejectReason(
        "no-consent", "R1", "The patient has not consented to sharing this information.",
        "Pasienten har ikke samtykket til at denne informasjonen deles.")
    /// The latest consent record could not be read (fail closed: no consent).
    package static let consentUnreadable = RejectReason(
        "consent-unreadable", "R1", "The patient's consent could not be read, so it is treated as absent.",
        "Pasientens samtykke kunne ikke leses og behandles derfor som manglende.")
    /// The consent was withdrawn (R5).
    package static let consentWithdrawn = RejectReason(
        "consent-withdrawn", "R5", "The patient has withdrawn consent.", "Pasienten har trukket tilbake samtykket.")
    /// The consent's validity ended.
    package static let consentExpired = RejectReason(
        "consent-expired", "R6", "The patient's consent has expired.", "Pasientens samtykke er utløpt.")
    /// The consent is not valid yet.
    package static let consentNotYetValid = RejectReason(
        "consent-not-yet-valid", "R6", "The patient's consent is not yet in force.",
        "Pasientens samtykke har ikke trådt i kraft ennå.")
    /// The consent's purpose is not IPS follow-up.
    package static let purposeNotCovered = RejectReason(
        "purpose-not-covered", "R6", "The consent does not cover the IPS follow-up purpose.",
        "Samtykket gjelder ikke formålet IPS-oppfølging.")
    /// The consent does not name the NAV role on the other side (R13).
    package static let recipientNotCovered = RejectReason(
        "recipient-not-covered", "R13", "The consent does not cover this recipient role.",
        "Samtykket omfatter ikke denne mottakerrollen.")
    /// The consent does not cover this direction (R13).
    package static let directionNotCovered = RejectReason(
        "direction-not-covered", "R13", "The consent does not cover information flowing in this direction.",
        "Samtykket omfatter ikke informasjon som går i denne retningen.")
    /// A referral without consent (R7; never sent anonymously).
    package static let referralRequiresConsent = RejectReason(
        "referral-requires-consent", "R7", "A referral can only be sent with the patient's consent.",
        "En henvisning kan bare sendes med pasientens samtykke.")
    /// Sick-listed without the method supervisor's supporting assessment (R12).
    package static let sickListedNeedsMethodSupervisor = RejectReason(
        "sick-listed-needs-method-supervisor", "R12",
        "Referring a sick-listed person requires a recorded assessment with the method supervisor that supports it.",
        "Henvisning av en sykmeldt person krever en registrert vurdering med metodeveileder som støtter henvisningen.")
    /// A referral from a team without a valid IPS agreement, or while the registry of
    /// agreements cannot be read (R14).
    package static let noIPSAgreement = RejectReason(
        "no-ips-agreement", "R14",
        "Only treatment teams with a valid IPS agreement may refer; this team has none (or the registry of agreements could not be read).",
        "Bare behandlingsteam med gyldig IPS-avtale kan henvise; dette teamet har ingen (eller avtaleregisteret kunne ikke leses)."
    )
    /// After filtering nothing beyond identification and routing is left (R6, R8).
    package static let nothingInScope = RejectReason(
        "nothing-in-scope", "R6", "None of the information in the message is covered by the consent.",
        "Ingen av informasjonen i meldingen er omfattet av samtykket.")
    /// A field the message cannot go without is outside the consent (R6).
    package static let requiredFieldNotInConsent = RejectReason(
        "required-field-not-in-consent", "R6", "Information the message needs is not covered by the consent.",
        "Informasjon meldingen trenger er ikke omfattet av samtykket.")
    /// The anonymous form still held something that looks like an identifier (R2, fail closed).
    package static let anonymousFormNotSafe = RejectReason(
        "anonymous-form-not-safe", "R2", "The anonymous form could not be made free of identifying information.",
        "Den anonyme formen kunne ikke gjøres fri for identifiserende opplysninger.")

    /// Whether the refusal follows from the message alone (its envelope, contract, size,
    /// JSON or schema), decided before any consent was looked at. Only such reasons may be told
    /// to NAV: any other refusal of a NAV event depends on the EPJ consent, whose state is
    /// itself health information (R15).
    package var isDecidedBeforeConsent: Bool { Self.isDecidedBeforeConsent(code: code) }

    /// `isDecidedBeforeConsent` for a stored or published reason code.
    package static func isDecidedBeforeConsent(code: String) -> Bool {
        code.hasPrefix("invalid-json.") || beforeConsentCodes.contains(code)
    }

    private static let beforeConsentCodes: Set<String> = Set(
        [
            invalidEnvelope, tooLarge, unknownContract, notAnEventContract, unsupportedSpecVersion,
            unsupportedContentType,
            wrongSourceTopic, navInternalNeverCrosses, schemaViolation, subjectMissing,
        ].map(\.code))

    /// A category that crossed is no longer in the consent (relay re-check; R5, R6).
    package static let categoryNarrowed = RejectReason(
        "consent-scope-narrowed", "R6", "The consent no longer covers all of the information in the message.",
        "Samtykket omfatter ikke lenger all informasjonen i meldingen.")

    /// Identified output would carry another person's identifier, or a phone number or e-mail
    /// address in free text (R16).
    package static let thirdPartyIdentifier = RejectReason(
        "third-party-identifier", "R16",
        "The message names another person (a national identity number, or a phone number or e-mail address in free text); consent covers only the patient's own information.",
        "Meldingen inneholder opplysninger om en annen person (fødselsnummer, eller telefonnummer eller e-postadresse i fritekst); samtykket gjelder bare pasientens egne opplysninger."
    )

    /// Codes of the reasons a change of consent can lift: only these are worth deciding again
    /// (an operator's redrive). Envelope, contract and content faults stay faults.
    package static let consentDependentCodes: Set<String> = Set(
        [
            noConsent, consentUnreadable, consentWithdrawn, consentExpired, consentNotYetValid, purposeNotCovered,
            recipientNotCovered, directionNotCovered, referralRequiresConsent, nothingInScope,
            requiredFieldNotInConsent,
        ].map(\.code))

    /// The reason with this stored code (any `invalid-json.*` code gives the strict-JSON texts),
    /// or nil for a code this version does not know.
    package static func named(_ code: String) -> RejectReason? {
        if let reason = byCode[code] { return reason }
        guard code.hasPrefix("invalid-json.") else { return nil }
        return RejectReason(
            code, nil, "The message body is not valid strict JSON.", "Meldingsinnholdet er ikke gyldig streng JSON.")
    }

    private static let byCode: [String: RejectReason] = Dictionary(
        all.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })

    /// Every reason a rejection can carry: the fixed ones and the `invalid-json.*` family, one
    /// per strict-parser code (the closed set the operator API lists and filters by).
    package static let known: [RejectReason] = all + JSONParseError.Code.all.map(invalidJSON)

    /// Every fixed reason (the parametrised `invalid-json.*` family excluded), for docs and tests.
    package static let all: [RejectReason] = [
        invalidEnvelope, tooLarge, outputContractViolation, unknownContract, notAnEventContract, unsupportedSpecVersion,
        unsupportedContentType,
        wrongSourceTopic, navInternalNeverCrosses, schemaViolation, subjectMissing, noConsent, consentUnreadable,
        consentWithdrawn, consentExpired, consentNotYetValid, purposeNotCovered, recipientNotCovered,
        directionNotCovered, referralRequiresConsent, sickListedNeedsMethodSupervisor, noIPSAgreement, nothingInScope,
        requiredFieldNotInConsent, anonymousFormNotSafe, thirdPartyIdentifier, categoryNarrowed,
    ]
}
