/// The Kafka topic names the bridge and sinks use (defaults = Contracts/asyncapi.yaml).
package struct TopicNames: Sendable, Hashable {
    package var healthConsent: String
    package var healthOutbound: String
    package var navOutbound: String
    package var navInbound: String
    package var healthInbound: String
    package var healthReceipts: String
    package var navReceipts: String
    package var healthDisclosures: String
    package var navDisclosures: String
    package var rejected: String
}
