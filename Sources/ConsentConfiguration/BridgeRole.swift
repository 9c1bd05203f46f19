/// A part of the bridge that one process can run; `roles` selects any non-empty set.
package enum BridgeRole: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Consumes both outbound topics, decides, records, relays.
    case bridge
    /// Writes what the bridge sends to the health side into the health journal store.
    case healthSink = "health-sink"
    /// Writes what crosses to the NAV veileder (and the case system's own documentation) into
    /// NAV's case store.
    case navSink = "nav-sink"
    /// Writes what crosses to the IPS job specialist (and the follow-up solution's own
    /// documentation) into the job specialist's follow-up store (R9: a system of its own).
    case followUpSink = "followup-sink"

    /// Order of declaration, so role lists print the same way every time.
    private var rank: Int {
        switch self {
        case .bridge: 0
        case .healthSink: 1
        case .navSink: 2
        case .followUpSink: 3
        }
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}
