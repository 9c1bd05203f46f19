/// Which way a message travels through the bridge (`x-direction` of a contract).
package enum MessageDirection: String, Sendable, Hashable, CaseIterable {
    case healthToNav = "health-to-nav"
    case navToHealth = "nav-to-health"
    case navInternal = "nav-internal"
    case consent
    /// Written by the bridge itself (receipts, disclosures, rejections).
    case bridge
}
