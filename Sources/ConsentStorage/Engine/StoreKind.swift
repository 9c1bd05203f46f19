/// Which of the three separately controlled stores a database holds (docs/rules.md R9).
///
/// Recorded in the database at migration (`store_identity`), so opening one side's store on
/// another side's database fails instead of mixing the two sides' records.
package enum StoreKind: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The bridge's own store: consent view, offsets, decisions, outbox, disclosures, rejections.
    case bridge
    /// The health service's journal store (EPJ side).
    case healthJournal = "health-journal"
    /// NAV's case store: the NAV veileder's case system (NAV side).
    case navCase = "nav-case"
    /// The IPS job specialist's follow-up store (NAV side, a system of its own: R9).
    case navFollowUp = "nav-followup"

    package var description: String { self.rawValue }

    /// The name `consent-bridge kafka-cluster --store` and the store-reading commands give it.
    package var commandName: String {
        switch self {
        case .bridge: "bridge"
        case .healthJournal: "health"
        case .navCase: "nav"
        case .navFollowUp: "followup"
        }
    }
}
