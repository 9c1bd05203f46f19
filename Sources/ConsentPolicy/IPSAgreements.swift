package import ConsentContracts

/// R14: the treatment teams with an IPS agreement, and the days each holds. Only their
/// referrals cross. Operators maintain it as data (`Contracts/registry/ips-agreements.schema.json`).
package struct IPSAgreements: Sendable, Hashable {
    /// One team's agreement.
    package struct Agreement: Sendable, Hashable {
        package var teamId: String
        package var organisationNumber: String
        package var name: String?
        package var validFrom: CivilDate
        /// Last day it holds; nil: until further notice.
        package var validUntil: CivilDate?

        /// Whether it holds on `day`.
        package func holds(on day: CivilDate) -> Bool {
            validFrom <= day && validUntil.map { day <= $0 } ?? true
        }
    }

    /// Why a registry document was refused (the whole registry is then unreadable).
    package struct Problem: Error, Sendable, CustomStringConvertible {
        package let description: String

        /// A problem described in words (no values from the document).
        package init(description: String) { self.description = description }
    }

    package var agreements: [Agreement]

    /// Creates a registry.
    package init(agreements: [Agreement]) { self.agreements = agreements }

    /// The agreement under which `teamId` of `organisationNumber` may refer on `day`, if any.
    package func agreement(teamId: String, organisationNumber: String, on day: CivilDate) -> Agreement? {
        agreements.first { $0.teamId == teamId && $0.organisationNumber == organisationNumber && $0.holds(on: day) }
    }

    /// Reads a registry document: strict JSON, valid under `schema`, dates in order. Any
    /// fault refuses the whole document (a half-read registry could let a team through).
    package static func parse(_ bytes: [UInt8], schema: JSONSchema) throws(Problem) -> IPSAgreements {
        let document: JSONValue
        do {
            document = try StrictJSON.parse(bytes)
        } catch {
            throw Problem(description: "not strict JSON (\(error.code.rawValue) at byte \(error.byteOffset))")
        }
        let violations = schema.validate(document)
        if let first = violations.first {
            throw Problem(
                description:
                    "\(violations.count) violation(s) of the registry's schema, first \(first.pointer.isEmpty ? "/" : first.pointer): \(first.keyword)"
            )
        }
        var agreements: [Agreement] = []
        for (index, entry) in (document.objectValue?["agreements"]?.arrayValue ?? []).enumerated() {
            guard let object = entry.objectValue, let teamId = object["teamId"]?.stringValue,
                let organisation = object["organisationNumber"]?.stringValue,
                let from = object["validFrom"]?.stringValue.flatMap(CivilDate.init(iso:))
            else { throw Problem(description: "agreement \(index + 1) is incomplete") }
            let until = object["validUntil"]?.stringValue.flatMap(CivilDate.init(iso:))
            if object["validUntil"] != nil, until == nil {
                throw Problem(description: "agreement \(index + 1) has an unreadable validUntil")
            }
            if let until, until < from { throw Problem(description: "agreement \(index + 1) ends before it starts") }
            agreements.append(
                Agreement(
                    teamId: teamId, organisationNumber: organisation, name: object["name"]?.stringValue,
                    validFrom: from, validUntil: until))
        }
        return IPSAgreements(agreements: agreements)
    }
}

extension PolicyDecision {
    /// R14 at an instant: the agreement must hold on that instant's date in Norway (an
    /// agreement's last day ends at midnight in Oslo, not in Greenwich).
    package func requiringIPSAgreement(_ agreements: IPSAgreements?, at instant: Timestamp) -> PolicyDecision {
        requiringIPSAgreement(agreements, on: instant.norwegianDate)
    }

    /// R14 on a decided referral: a forward is turned into `no-ips-agreement` unless the
    /// referring team has an agreement holding on `day` (`agreements` nil: the registry could
    /// not be read, so no referral crosses). Other decisions are returned as they are.
    package func requiringIPSAgreement(_ agreements: IPSAgreements?, on day: CivilDate) -> PolicyDecision {
        guard case .forward(let event) = self else { return self }
        // The team is operational: every copy carries it as sent.
        let team = event.copies.first?.body.objectValue?["referringTeam"]?.objectValue
        if let agreements, let teamId = team?["teamId"]?.stringValue,
            let organisation = team?["organisationNumber"]?.stringValue,
            agreements.agreement(teamId: teamId, organisationNumber: organisation, on: day) != nil
        {
            return self
        }
        return .reject(
            Rejection(
                reason: .noIPSAgreement, contractName: event.contractName, consent: event.consent,
                removed: event.removed))
    }
}
