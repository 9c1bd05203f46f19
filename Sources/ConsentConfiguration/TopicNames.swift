import ConsentContracts

/// The Kafka topic names the bridge and sinks use (defaults = Contracts/asyncapi.yaml).
package struct TopicNames: Sendable, Hashable {
    /// `topics.health-consent` (compacted consent records).
    package var healthConsent: String
    /// `topics.health-outbound` (EPJ → bridge).
    package var healthOutbound: String
    /// `topics.nav-outbound` (NAV → bridge).
    package var navOutbound: String
    /// `topics.nav-inbound` (bridge → NAV).
    package var navInbound: String
    /// `topics.health-inbound` (bridge → EPJ).
    package var healthInbound: String
    /// `topics.health-receipts`.
    package var healthReceipts: String
    /// `topics.nav-receipts`.
    package var navReceipts: String
    /// `topics.health-disclosures` (R4).
    package var healthDisclosures: String
    /// `topics.nav-disclosures`.
    package var navDisclosures: String
    /// `topics.rejected` (metadata + sealed payload).
    package var rejected: String
    /// `topics.health-breaches`: breach notices for the health side (R10), from both sinks.
    package var healthBreaches: String
    /// `topics.nav-breaches`: breach notices for the NAV side (R10), from every sink.
    package var navBreaches: String
    /// `topics.followup-outbound`: the IPS job specialist's follow-up solution → bridge (R9).
    package var followUpOutbound: String
    /// `topics.followup-inbound`: bridge → the follow-up solution.
    package var followUpInbound: String
    /// `topics.followup-receipts`: receipts for the follow-up solution's events.
    package var followUpReceipts: String
    /// `topics.followup-disclosures`: what the follow-up solution disclosed to health.
    package var followUpDisclosures: String

    /// Every topic, in declaration order.
    package var all: [String] {
        [
            healthConsent, healthOutbound, navOutbound, navInbound, healthInbound,
            healthReceipts, navReceipts, healthDisclosures, navDisclosures, rejected, healthBreaches, navBreaches,
            followUpOutbound, followUpInbound, followUpReceipts, followUpDisclosures,
        ]
    }

    /// The configured name of a topic known by its default name (unknown names unchanged).
    package func configuredName(ofDefault name: String) -> String {
        zip(Self.defaults.all, all).first { $0.0 == name }?.1 ?? name
    }

    /// The default names: the topics of Contracts/asyncapi.yaml (`ContractVocabulary.Topic`).
    package static let defaults = TopicNames(
        healthConsent: Topic.healthConsent, healthOutbound: Topic.healthOutbound, navOutbound: Topic.navOutbound,
        navInbound: Topic.navInbound, healthInbound: Topic.healthInbound, healthReceipts: Topic.healthReceipts,
        navReceipts: Topic.navReceipts, healthDisclosures: Topic.healthDisclosures,
        navDisclosures: Topic.navDisclosures, rejected: Topic.rejected, healthBreaches: Topic.healthBreaches,
        navBreaches: Topic.navBreaches, followUpOutbound: Topic.followUpOutbound,
        followUpInbound: Topic.followUpInbound, followUpReceipts: Topic.followUpReceipts,
        followUpDisclosures: Topic.followUpDisclosures)

    private typealias Topic = ContractVocabulary.Topic

    /// Names as given (the loader checks they are legal and distinct).
    package init(
        healthConsent: String, healthOutbound: String, navOutbound: String, navInbound: String,
        healthInbound: String, healthReceipts: String, navReceipts: String, healthDisclosures: String,
        navDisclosures: String, rejected: String, healthBreaches: String, navBreaches: String,
        followUpOutbound: String, followUpInbound: String, followUpReceipts: String, followUpDisclosures: String
    ) {
        self.healthConsent = healthConsent
        self.healthOutbound = healthOutbound
        self.navOutbound = navOutbound
        self.navInbound = navInbound
        self.healthInbound = healthInbound
        self.healthReceipts = healthReceipts
        self.navReceipts = navReceipts
        self.healthDisclosures = healthDisclosures
        self.navDisclosures = navDisclosures
        self.rejected = rejected
        self.healthBreaches = healthBreaches
        self.navBreaches = navBreaches
        self.followUpOutbound = followUpOutbound
        self.followUpInbound = followUpInbound
        self.followUpReceipts = followUpReceipts
        self.followUpDisclosures = followUpDisclosures
    }
}
