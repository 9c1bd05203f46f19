import ConsentConfiguration

/// One of the two sectors the bridge connects. Each side may run its own Kafka cluster.
package enum BridgeSide: String, Sendable, Hashable, CaseIterable {
    /// The health services' side (patient journals, consent records).
    case health
    /// NAV's side (case handling).
    case nav

    /// The other side.
    package var opposite: BridgeSide { self == .health ? .nav : .health }
}

extension TopicNames {
    /// The side whose cluster holds `topic`. `bridge.rejected` lives with the health side's
    /// cluster (the bridge is operated next to the health side's infrastructure).
    package func side(of topic: String) -> BridgeSide {
        switch topic {
        case navOutbound, navInbound, navReceipts, navDisclosures: .nav
        default: .health
        }
    }

    /// The topic events from `side` arrive on.
    package func outbound(of side: BridgeSide) -> String { side == .health ? healthOutbound : navOutbound }
    /// The receipts topic read by `side`.
    package func receipts(of side: BridgeSide) -> String { side == .health ? healthReceipts : navReceipts }
    /// The disclosure log topic of `side` (what `side` disclosed to the other).
    package func disclosures(of side: BridgeSide) -> String { side == .health ? healthDisclosures : navDisclosures }
}
