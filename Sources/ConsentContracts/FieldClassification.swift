/// How sensitive a contract property is; drives what the policy may forward (ARCHITECTURE.md table).
package enum FieldClassification: String, Sendable, Hashable, CaseIterable {
    case operational
    case directIdentifier = "direct-identifier"
    case quasiIdentifier = "quasi-identifier"
    case healthConfidential = "health-confidential"
    case workRelated = "work-related"
    case freeText = "free-text"
    case navInternal = "nav-internal"
}
