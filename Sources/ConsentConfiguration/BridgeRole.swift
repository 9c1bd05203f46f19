/// A part of the bridge that one process can run; `roles` selects any non-empty set.
package enum BridgeRole: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Consumes both outbound topics, decides, records, relays.
    case bridge
    /// Writes what the bridge sends to the health side into the health journal store.
    case healthSink = "health-sink"
    /// Writes what crosses to NAV (and NAV's own documentation) into the NAV case store.
    case navSink = "nav-sink"

    /// Order of declaration, so role lists print the same way every time.
    private var rank: Int {
        switch self {
        case .bridge: 0
        case .healthSink: 1
        case .navSink: 2
        }
    }

    package static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}
