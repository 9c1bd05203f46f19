package import ConsentContracts

/// The directions a consent covers (`health-to-nav`, `nav-to-health`), as bits.
package struct ConsentDirections: OptionSet, Sendable, Hashable, Codable {
    package var rawValue: UInt8

    package init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Health service → NAV.
    package static let healthToNav = ConsentDirections(rawValue: 1 << 0)
    /// NAV → health service.
    package static let navToHealth = ConsentDirections(rawValue: 1 << 1)

    /// The bit for `name`, or nil for a name that is not a crossing direction.
    package init?(name: String) {
        switch name {
        case "health-to-nav": self = .healthToNav
        case "nav-to-health": self = .navToHealth
        default: return nil
        }
    }

    /// The bit for a contract's direction; empty for directions that never cross.
    package init(_ direction: MessageDirection) {
        switch direction {
        case .healthToNav: self = .healthToNav
        case .navToHealth: self = .navToHealth
        default: self = []
        }
    }

    /// The direction names in this set.
    package var names: [String] {
        (contains(.healthToNav) ? ["health-to-nav"] : []) + (contains(.navToHealth) ? ["nav-to-health"] : [])
    }
}
