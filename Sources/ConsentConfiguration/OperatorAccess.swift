/// The bearer tokens of the operator service, by role (`operator.viewer-tokens`,
/// `operator.operator-tokens`). Secrets: never printed, logged or echoed in an error.
package struct OperatorAccess: Sendable, Hashable {
    /// Tokens that may read (rejections, counts, the page).
    package var viewerTokens: [String]
    /// Tokens that may read and redrive.
    package var operatorTokens: [String]

    /// Creates the token lists (empty: nobody may use the API).
    package init(viewerTokens: [String] = [], operatorTokens: [String] = []) {
        self.viewerTokens = viewerTokens
        self.operatorTokens = operatorTokens
    }
}
