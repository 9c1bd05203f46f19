package import ConsentContracts

/// How an outbox row whose payload is not stored gets it back: the receipt and the disclosure
/// notices of an identified forward repeat what the decision transaction records anyway (the
/// decision, each copy's disclosure row and forwarded row), so the store keeps them as an
/// empty payload and this kind, and builds the payload again when the row is read.
///
/// Those two payloads were more than half of what the bridge wrote per event (920 + 387 of
/// 1,710 payload bytes for a referral), written to the WAL and copied again by every
/// checkpoint. The bridge builds them with the same functions (`DerivedOutboxPayload`), from
/// the same values, so a row read back is byte-identical to the one handed to the relay.
package enum OutboxPayloadDerivation: String, Sendable, Hashable, CaseIterable {
    /// The receipt of an identified forward (`accepted`): from the decision row, the id of its
    /// first copy and that copy's contract version.
    case receipt
    /// One copy's disclosure notice for the health side's journal, naming the consent.
    case notice
    /// One copy's disclosure notice for NAV's side, without the consent (R15).
    case noticeWithoutConsent = "notice-without-consent"
}

/// The payloads of `OutboxPayloadDerivation` rows, built from recorded values only. Not used
/// for a redrive's rows: its decision row is the first, rejecting decision.
package enum DerivedOutboxPayload {
    /// The receipt of a forward whose copies crossed identified. `decidedAt` is the decision
    /// row's stored time text (`StoreTime`), `contractVersion` the first copy's
    /// `cb_policy_version`. NAV's receipt is the same (R15 hides nothing of an acceptance).
    package static func receipt(
        messageID: String, firstCopyID: String?, ceType: String?, decidedAt: String, contractVersion: String,
        source: SourcePosition
    ) -> BridgeReceipt {
        BridgeReceipt(
            messageID: messageID, forwardedID: firstCopyID, ceType: ceType, outcome: .accepted,
            reasonCode: BridgeReceipt.Outcome.accepted.rawValue, decidedAt: decidedAt,
            contractVersion: contractVersion, source: source)
    }

    /// The notice of one identified copy: what crossed (`forwardBody`'s leaves), to whom
    /// (`disclosure`), where (`destinationTopic`), under which consent when the sending side
    /// may see it (`namesConsent`: the health side). NAV learns nothing of the EPJ consent
    /// (R15): its notices are `toldToNAV`.
    /// `decidedAt` is the disclosure row's stored time text.
    package static func notice(
        disclosure: DisclosureRecord, decidedAt: String, destinationTopic: String, forwardBody: JSONValue,
        contractVersion: String, namesConsent: Bool
    ) -> DisclosureNotice {
        let notice = DisclosureNotice(
            disclosureID: disclosure.disclosureID, messageID: disclosure.eventID, ceType: disclosure.ceType,
            direction: disclosure.direction, subjectID: disclosure.subjectID,
            consentID: namesConsent ? disclosure.consentID : nil,
            consentVersion: namesConsent ? disclosure.consentVersion : nil,
            recipientRoles: [disclosure.recipientRole], categories: namesConsent ? disclosure.categories : [],
            form: .full, caseReference: nil, disclosedFields: namesConsent ? JSONPointer.leaves(of: forwardBody) : [],
            status: .disclosed, decidedAt: decidedAt, destinationTopic: destinationTopic,
            contractVersion: contractVersion)
        return namesConsent ? notice : notice.toldToNAV(sentType: disclosure.ceType)
    }
}
