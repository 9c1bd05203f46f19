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
}
