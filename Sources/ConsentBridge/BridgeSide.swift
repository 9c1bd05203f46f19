import ConsentConfiguration
package import ConsentStorage

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
        case navOutbound, navInbound, navReceipts, navDisclosures, navBreaches, followUpOutbound, followUpInbound,
            followUpReceipts, followUpDisclosures:
            .nav
        default: .health
        }
    }

    /// The topics events from `side` arrive on: the journal's, or both NAV systems' (NAV's case
    /// system and the IPS job specialist's follow-up solution, R9).
    package func outbound(of side: BridgeSide) -> [String] {
        side == .health ? [healthOutbound] : [navOutbound, followUpOutbound]
    }
    /// The receipts topic read by the system that publishes on `sourceTopic`.
    package func receipts(forSource sourceTopic: String) -> String {
        switch sourceTopic {
        case healthOutbound: healthReceipts
        case followUpOutbound: followUpReceipts
        default: navReceipts
        }
    }
    /// The disclosure log topic of the system that publishes on `sourceTopic` (what it
    /// disclosed to the other side).
    package func disclosures(forSource sourceTopic: String) -> String {
        switch sourceTopic {
        case healthOutbound: healthDisclosures
        case followUpOutbound: followUpDisclosures
        default: navDisclosures
        }
    }
    /// The inbound topics the bridge forwards events to (each recipient system's).
    package var inboundTopics: Set<String> { Set(destinations.map(\.topic)) }
    /// Each recipient system's inbound topic and the store its sink writes (R9): the health
    /// journal, NAV's case system, the IPS job specialist's follow-up solution.
    package var destinations: [(topic: String, store: StoreKind)] {
        [(healthInbound, .healthJournal), (navInbound, .navCase), (followUpInbound, .navFollowUp)]
    }
}
